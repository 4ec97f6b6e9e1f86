// One PING with a hard deadline, for readiness: the ticket store and the session limiter both ask
// Redis whether it answers now. The deadline holds whatever the client's own settings (a client a
// host passes in may have no command timeout, or queue commands while disconnected).
import type { RedisClient } from './redis-client.js';

/** Resolves when Redis answers PONG within `timeoutMs`; throws otherwise. */
export async function pingWithin(client: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer PING within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const reply = await Promise.race([client.call('PING'), timeout]);
    if (String(reply) !== 'PONG') throw new Error('Redis answered PING with something other than PONG');
  } finally {
    clearTimeout(timer);
  }
}

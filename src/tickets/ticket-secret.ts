// Ticket secrets: 256 random bits, base64url without padding (a valid HTTP token, so it can travel
// in Sec-WebSocket-Protocol). Only their SHA-256 digest is ever stored.
import crypto, { createHash, randomFillSync } from 'node:crypto';

const SECRET_BYTES = 32;
const POOL_SECRETS = 128;

// One randomFillSync per 128 secrets: a per-call randomBytes was measurable on the minting path.
const pool = Buffer.alloc(SECRET_BYTES * POOL_SECRETS);
let poolOffset = pool.length;

export function generateTicketSecret(): string {
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const secret = pool.toString('base64url', poolOffset, poolOffset + SECRET_BYTES);
  // Bytes handed out are wiped so the pool never holds a live secret.
  pool.fill(0, poolOffset, poolOffset + SECRET_BYTES);
  poolOffset += SECRET_BYTES;
  return secret;
}

// One-shot crypto.hash (Node >= 20.12) is about 4x faster than a Hash object for short inputs, and
// this runs twice per mint (API key, secret) and once per redemption.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function sha256Hex(value: string): string {
  if (oneShotHash) return oneShotHash('sha256', value, 'hex');
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The id a ticket is stored and looked up under: the SHA-256 digest of its secret. */
export function ticketIdOf(secret: string): string {
  return sha256Hex(secret);
}

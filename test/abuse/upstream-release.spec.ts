// An ended upstream session is released as soon as its socket has closed: nothing (such as the
// close-grace timer that cuts a provider which never answers our close frame) keeps it — and,
// through its handlers, the client's whole session — reachable afterwards. Found by the soak's heap
// snapshots (issue 11): the last sessions of a run stayed reachable for the 2 s grace.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ModelDefinition, UpstreamSession } from '../../src/index.js';
import { OpenAiProvider } from '../../src/providers/openai/index.js';
import { startOpenAiFake, type OpenAiFake } from '../fakes/openai-fake.js';
import { sleep } from '../helpers/ws-client.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MODEL: ModelDefinition = { id: 'openai/gpt-realtime-2', realtime: true, inputSampleRate: 24000, outputSampleRate: 24000, defaultVoice: 'marin' };

describe('releasing an ended upstream session', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await startOpenAiFake();
  });
  afterAll(async () => {
    await fake?.close();
  });

  /** Opens a session and ends it with `end`; returns a weak reference to it, once its socket closed. */
  async function endedSession(end: (session: UpstreamSession, index: number) => void): Promise<WeakRef<UpstreamSession>> {
    const index = fake.connections.length;
    const session = await new OpenAiProvider({ apiKey: 'sk-test', baseUrl: fake.httpUrl }).open({
      sessionId: 'sess_release',
      projectId: 'proj_a',
      config: { model: MODEL.id },
      model: MODEL,
      signal: new AbortController().signal,
      handlers: { onEvent: () => undefined, onEnd: () => undefined },
    });
    end(session, index);
    await fake.connections[index].closed;
    await sleep(50); // the close reaches the gateway's side of the socket
    return new WeakRef(session);
  }

  it.each([
    ['closed by the gateway', (session: UpstreamSession) => session.close()],
    ['closed by the provider', (_s: UpstreamSession, index: number) => fake.connections[index].close(1000, 'bye')],
  ])('%s: collectable at once, not after the close grace', async (_name, end) => {
    const ref = await endedSession(end);
    // deref() keeps its target alive until the end of the current job: collect in a later one.
    let collected = false;
    for (let i = 0; i < 5 && !collected; i += 1) {
      await sleep(10);
      gc();
      await sleep(10);
      collected = ref.deref() === undefined;
    }
    expect(collected).toBe(true);
  });
});

// The Gemini Live (BidiGenerateContent) wire messages, typed with @google/genai's own generated
// Live types. The import is type-only: nothing of the SDK runs here (it stays a dev dependency),
// but a field the real protocol renamed or dropped is a compile error in the adapter and its fake.
import type { LiveClientMessage, LiveServerMessage } from '@google/genai';

/** One client → server message (a text frame of compact JSON; exactly one top-level field). */
export type GeminiClientMessage = LiveClientMessage;

/**
 * One server → client message as it arrives (binary frames of pretty-printed JSON): the SDK's class
 * without its convenience getters, which a parsed frame does not have.
 */
export type GeminiServerMessage = Omit<LiveServerMessage, 'text' | 'data'>;

/**
 * A proto-JSON enum value on the wire. The SDK types enums as TypeScript enums; this takes the
 * plain string and still checks it against the enum's values (`wireEnum<Modality>('AUDIO')`).
 */
export function wireEnum<E extends string>(value: `${E}`): E {
  return value as E;
}

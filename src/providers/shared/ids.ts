// Ids the gateway makes up for provider objects that have none of their own (e.g. Gemini turns).
import { randomBytes } from 'node:crypto';

export function newId(prefix: string, bytes = 12): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`;
}

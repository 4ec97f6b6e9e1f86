// SHA-256 digests: how API keys and ticket secrets are stored and compared (never in plain form).
import crypto, { createHash } from 'node:crypto';

// One-shot crypto.hash (Node >= 20.12) is about 4x faster than a Hash object for short inputs, and
// this runs twice per mint (API key, secret) and once per redemption.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function sha256Hex(value: string): string {
  if (oneShotHash) return oneShotHash('sha256', value, 'hex');
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

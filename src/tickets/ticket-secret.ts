// Ticket secrets: 256 random bits, base64url without padding (a valid HTTP token, so it can travel
// in Sec-WebSocket-Protocol). Only their SHA-256 digest is ever stored.
import crypto, { createHash } from 'node:crypto';
import { RandomPool } from '../random-pool.js';

const secrets = new RandomPool(32, 128);

export function generateTicketSecret(): string {
  return secrets.draw('base64url');
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

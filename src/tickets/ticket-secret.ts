// Ticket secrets: 256 random bits, base64url without padding (a valid HTTP token, so it can travel
// in Sec-WebSocket-Protocol). Only their SHA-256 digest is ever stored.
import { RandomPool } from '../common/random-pool.js';
import { sha256Hex } from '../common/digest.js';

const secrets = new RandomPool(32, 128);

export function generateTicketSecret(): string {
  return secrets.draw('base64url');
}

/** The id a ticket is stored and looked up under: the SHA-256 digest of its secret. */
export function ticketIdOf(secret: string): string {
  return sha256Hex(secret);
}

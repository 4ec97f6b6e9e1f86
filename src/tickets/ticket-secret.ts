// Ticket secrets: 256 random bits, base64url without padding (a valid HTTP token, so it can travel
// in Sec-WebSocket-Protocol). Only their SHA-256 digest is ever stored.
import { RandomPool } from '../common/random-pool.js';
import { sha256Hex } from '../common/digest.js';

const secrets = new RandomPool(32, 128);
const publicIds = new RandomPool(16, 128);

export function generateTicketSecret(): string {
  return secrets.draw('base64url');
}

/** The id a ticket is stored and looked up under: the SHA-256 digest of its secret. */
export function ticketIdOf(secret: string): string {
  return sha256Hex(secret);
}

/**
 * A ticket's public id (`rt_` + 128 random bits). Drawn separately from the secret: nothing about
 * the secret or its digest can be derived from it, so it may be logged and shown to operators.
 */
export function generatePublicTicketId(): string {
  return `rt_${publicIds.draw('base64url')}`;
}

/** The shape of a public ticket id (route parameters are checked against it before any lookup). */
export const PUBLIC_TICKET_ID = /^rt_[A-Za-z0-9_-]{16,64}$/;

// Idempotent minting (`Idempotency-Key` on POST /v3/realtime-sessions): a retried mint gets the
// ticket of the first one. What the store keeps must not give the secret away, so the stored
// response is encrypted (AES-256-GCM) under a key derived from the Idempotency-Key itself, which
// the store never sees: a dump of the store yields no secret without the caller's key. Two HKDF
// derivations with different labels (salted with the project) give the lookup digest (the store's
// key, per project) and the encryption key: knowing one says nothing about the other.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { sha256Hex } from '../common/digest.js';
import type { MintRequest } from './ticket-request.js';
import type { TicketRecord } from './ticket.record.js';

const LOOKUP_LABEL = 'nestjs-realtime-sessions idempotency lookup v1';
const ENCRYPTION_LABEL = 'nestjs-realtime-sessions idempotency encryption v1';
const FORMAT = 'v1';

/** What an Idempotency-Key may be: 1–255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Where one project's use of one Idempotency-Key lives, and the key its response is sealed with. */
export interface IdempotencySlot {
  /** The store key: the project (URI-encoded) and the lookup digest of the Idempotency-Key. */
  readonly storeKey: string;
  readonly encryptionKey: Buffer;
}

/** What a stored response holds, once opened. */
export interface StoredMint {
  secret: string;
  record: TicketRecord;
  /** Digest of the request it answered: the same key with another body is refused. */
  fingerprint: string;
}

export function idempotencySlot(projectId: string, idempotencyKey: string): IdempotencySlot {
  const derive = (label: string) => Buffer.from(hkdfSync('sha256', idempotencyKey, projectId, label, 32));
  return {
    storeKey: `${encodeURIComponent(projectId)}:${derive(LOOKUP_LABEL).toString('hex')}`,
    encryptionKey: derive(ENCRYPTION_LABEL),
  };
}

/** A digest of what a mint request asks for (key order and formatting do not matter). */
export function requestFingerprint(request: MintRequest): string {
  return sha256Hex(canonicalJson(request));
}

export function sealMint(slot: IdempotencySlot, mint: StoredMint): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', slot.encryptionKey, iv);
  // Bound to its slot: a value copied under another store key does not open.
  cipher.setAAD(Buffer.from(slot.storeKey));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(mint), 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64url'), sealed.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** The stored mint, or undefined when the value does not open under this slot's key. */
export function openMint(slot: IdempotencySlot, value: string): StoredMint | undefined {
  const [format, iv, sealed, tag] = value.split('.');
  if (format !== FORMAT || !iv || !sealed || !tag) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', slot.encryptionKey, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(slot.storeKey));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as StoredMint;
  } catch {
    return undefined;
  }
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

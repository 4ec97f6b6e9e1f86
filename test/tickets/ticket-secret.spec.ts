// Ticket secrets (docs/protocol.md §1): ≥ 256 random bits, base64url without padding, valid HTTP tokens,
// and the id a ticket is stored under is their SHA-256 hex digest.
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { generateTicketSecret, ticketIdOf } from '../../src/index.js';

const BASE64URL_43 = /^[A-Za-z0-9_-]{43}$/;

describe('generateTicketSecret', () => {
  // 1,000 secrets span several refills of the internal random pool (128 secrets per refill).
  const secrets = Array.from({ length: 1000 }, () => generateTicketSecret());

  it('1,000 secrets are all distinct', () => {
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it('each is 43 base64url characters (no padding) decoding to exactly 32 bytes', () => {
    for (const secret of secrets) {
      expect(secret).toMatch(BASE64URL_43);
      const bytes = Buffer.from(secret, 'base64url');
      expect(bytes.length).toBe(32);
      expect(bytes.toString('base64url')).toBe(secret);
    }
  });

  it('never hands out wiped (all-zero) or repeated pool bytes', () => {
    const zero = Buffer.alloc(32).toString('base64url');
    expect(secrets).not.toContain(zero);
    // No two secrets share a 16-byte half either (a pool read at a wrong offset would).
    const halves = secrets.flatMap((s) => {
      const bytes = Buffer.from(s, 'base64url');
      return [bytes.subarray(0, 16).toString('hex'), bytes.subarray(16).toString('hex')];
    });
    expect(new Set(halves).size).toBe(halves.length);
  });

  it('looks uniformly random: every base64url symbol occurs, none dominates', () => {
    const counts = new Map<string, number>();
    for (const secret of secrets) for (const char of secret.slice(0, 42)) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(64);
    const expected = (secrets.length * 42) / 64; // ≈ 656
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(expected * 0.7);
      expect(count).toBeLessThan(expected * 1.3);
    }
  });
});

describe('ticketIdOf', () => {
  it('is the SHA-256 hex digest of the secret', () => {
    expect(ticketIdOf('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const secret = generateTicketSecret();
    expect(ticketIdOf(secret)).toBe(createHash('sha256').update(secret, 'utf8').digest('hex'));
    expect(ticketIdOf(secret)).not.toContain(secret);
  });
});

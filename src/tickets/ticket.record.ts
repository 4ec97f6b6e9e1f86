// What a ticket store holds for one ticket. Never the secret: `id` is its SHA-256 digest.
import type { SessionConfig, SessionConfigField } from '../session-config/session-config.js';

export interface TicketRecord {
  /** SHA-256 (hex) of the client secret. */
  id: string;
  projectId: string;
  keyId: string;
  /** The config bound at mint (only what the minting request set). */
  config: SessionConfig;
  /** Fields enforced even at their zero value. */
  lockedFields: SessionConfigField[];
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds; the ticket is dead from this instant on. */
  expiresAt: number;
  /**
   * The public, non-secret id (`rt_…`) the minting backend revokes the ticket by. Drawn at random,
   * independently of the secret, so it says nothing about the secret or its digest. Absent on
   * records written by code that predates it (they cannot be revoked).
   */
  publicId?: string;
  /** The backend's own attribution (mint `metadata`): given to the events hook, never to the provider or the browser. */
  metadata?: Record<string, string>;
  /** Canonical origins (mint `allowed_origins`): the upgrade's Origin must be one of them. */
  allowedOrigins?: string[];
}

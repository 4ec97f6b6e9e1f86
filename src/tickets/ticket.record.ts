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
}

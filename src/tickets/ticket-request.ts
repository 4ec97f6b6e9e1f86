// What a mint asks a ticket to bind, after the HTTP body was parsed and validated (issuance/).
import type { SessionConfig, SessionConfigField } from '../session-config/session-config.js';

export interface MintRequest {
  config: SessionConfig;
  lockedFields: SessionConfigField[];
  ttlSeconds: number;
  /** Validated `metadata`, when given. */
  metadata?: Record<string, string>;
  /** Canonical `allowed_origins`, when given (non-empty). */
  allowedOrigins?: string[];
}

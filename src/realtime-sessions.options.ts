// Module options and their defaults, in one place. Everything a host app can configure.
import type { ApiKeyVerifier } from './auth/api-key-verifier.js';
import type { StaticApiKey } from './auth/static-api-key.verifier.js';
import type { ModelDefinition } from './session-config/model-catalogue.js';
import type { TicketRepository } from './tickets/ticket.repository.js';

export interface RealtimeSessionsModuleOptions {
  /** Runtime API keys accepted by the default verifier. Ignored when `apiKeyVerifier` is set. */
  apiKeys?: StaticApiKey[];
  /** A custom key store. Wins over `apiKeys`. */
  apiKeyVerifier?: ApiKeyVerifier;
  /** Where tickets live. Default: an in-memory store (one instance only). */
  ticketRepository?: TicketRepository;
  /** When false, minting answers 503 `tickets_disabled`. Default true. */
  ticketsEnabled?: boolean;
  /**
   * Public base URL of this gateway (e.g. `https://voice.example.com`), used to build `ws_url`.
   * Default: the request's scheme and Host header.
   */
  publicUrl?: string;
  /** Extra model catalogue entries; an entry with a built-in id replaces it. */
  models?: ModelDefinition[];
  /**
   * Render every HTTP error of the whole app (404s of unknown routes included) with the
   * `{"error":{...}}` body. Default false: only this module's routes, so a host app keeps its
   * own error format. The standalone server turns it on.
   */
  formatAllErrors?: boolean;
}

export const DEFAULT_TICKET_TTL_SECONDS = 60;
export const MIN_TICKET_TTL_SECONDS = 1;
export const MAX_TICKET_TTL_SECONDS = 300;
export const REALTIME_SESSIONS_PATH = '/v3/realtime-sessions';
export const REALTIME_SOCKET_PATH = '/v3/realtime';

/** Options after defaults: what the rest of the module reads. */
export interface ResolvedRealtimeSessionsOptions {
  ticketsEnabled: boolean;
  publicUrl: string | undefined;
  formatAllErrors: boolean;
}

export function resolveOptions(options: RealtimeSessionsModuleOptions): ResolvedRealtimeSessionsOptions {
  return {
    ticketsEnabled: options.ticketsEnabled ?? true,
    publicUrl: options.publicUrl ? options.publicUrl.replace(/\/+$/, '') : undefined,
    formatAllErrors: options.formatAllErrors ?? false,
  };
}

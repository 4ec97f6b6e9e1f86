// The API-key rules of docs/protocol.md §1, shared by the HTTP guard and the WebSocket upgrade.
import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { ApiKeyVerifier, type ApiKeyIdentity } from './api-key-verifier.js';
import { MANAGEMENT_KEY_PREFIX, parseBearer } from './bearer.js';

/** A verified runtime key: the project is guaranteed. */
export interface RuntimeIdentity extends ApiKeyIdentity {
  projectId: string;
  kind: 'runtime';
}

function unauthorized(code: ErrorCode, message: string): RealtimeApiError {
  return new RealtimeApiError(HttpStatus.UNAUTHORIZED, code, message);
}

@Injectable()
export class ApiKeyAuthenticator {
  private readonly logger = new Logger(ApiKeyAuthenticator.name);

  constructor(private readonly verifier: ApiKeyVerifier) {}

  /** Resolves the identity behind an Authorization header, or throws a 401/503 RealtimeApiError. */
  async authenticate(authorization: string | string[] | undefined): Promise<RuntimeIdentity> {
    const parsed = parseBearer(authorization);
    if (parsed.kind === 'absent') {
      throw unauthorized(ErrorCode.MissingCredentials, 'Missing Authorization header: expected "Bearer <runtime API key>"');
    }
    if (parsed.kind === 'malformed') {
      throw unauthorized(ErrorCode.InvalidAuthorizationHeader, 'Malformed Authorization header: expected "Bearer <runtime API key>"');
    }
    return this.authenticateKey(parsed.token);
  }

  async authenticateKey(apiKey: string): Promise<RuntimeIdentity> {
    if (apiKey.startsWith(MANAGEMENT_KEY_PREFIX)) {
      throw unauthorized(ErrorCode.ManagementKeyNotAllowed, 'Management keys cannot be used here: use a project-scoped runtime API key');
    }
    let identity: ApiKeyIdentity | null;
    try {
      identity = await this.verifier.verify(apiKey);
    } catch (err) {
      // Fail closed; the key itself is never part of the log line.
      this.logger.error(`API-key verifier failed: ${(err as Error)?.message ?? String(err)}`);
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.AuthUnavailable, 'API keys cannot be verified right now; try again later');
    }
    if (!identity) throw unauthorized(ErrorCode.InvalidApiKey, 'Unknown API key');
    if (identity.kind !== 'runtime') {
      throw unauthorized(ErrorCode.NotRuntimeKey, 'This key is not a runtime API key');
    }
    if (!identity.projectId) {
      throw unauthorized(ErrorCode.KeyWithoutProject, 'This API key is not scoped to a project');
    }
    return identity as RuntimeIdentity;
  }
}

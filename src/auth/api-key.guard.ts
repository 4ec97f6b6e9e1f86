// HTTP guard for the minting route: authenticates the bearer runtime key and attaches the identity.
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ApiKeyAuthenticator, type RuntimeIdentity } from './api-key.authenticator.js';

export const IDENTITY_KEY = 'realtimeIdentity';

export interface RequestWithIdentity {
  headers: Record<string, string | string[] | undefined>;
  [IDENTITY_KEY]?: RuntimeIdentity;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly authenticator: ApiKeyAuthenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithIdentity>();
    request[IDENTITY_KEY] = await this.authenticator.authenticate(request.headers.authorization);
    return true;
  }
}

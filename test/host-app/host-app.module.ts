// A host application fixture: its own config module, key store and controller, with
// RealtimeSessionsModule wired in through forRootAsync (the way an app with ConfigModule does it).
import { Controller, ForbiddenException, Get, Injectable, MethodNotAllowedException, Module } from '@nestjs/common';
import { ApiKeyVerifier, RealtimeSessionsModule, type ApiKeyIdentity, type StaticApiKey } from '../../src/index.js';

export const HOST_API_KEY: StaticApiKey = { key: 'rtk-host-config-key', projectId: 'proj_host', keyId: 'key_host' };
export const HOST_PUBLIC_URL = 'https://voice.host.example';

/** Stands in for @nestjs/config's ConfigService. */
@Injectable()
export class HostConfigService {
  readonly realtimeApiKeys: StaticApiKey[] = [HOST_API_KEY];
  readonly publicUrl = HOST_PUBLIC_URL;
}

@Module({ providers: [HostConfigService], exports: [HostConfigService] })
export class HostConfigModule {}

/** The host's own routes: they must keep working, with the host's error format. */
@Controller('host')
export class HostController {
  @Get('status')
  status(): { ok: true } {
    return { ok: true };
  }

  @Get('forbidden')
  forbidden(): never {
    throw new ForbiddenException('host says no');
  }

  @Get('read-only')
  readOnly(): never {
    throw new MethodNotAllowedException('host route is read-only');
  }
}

/** A host route that only shares a prefix with the module's paths: still the host's. */
@Controller('v3/realtime-admin')
export class HostAdminController {
  @Get('forbidden')
  forbidden(): never {
    throw new ForbiddenException('admins only');
  }
}

@Module({
  imports: [
    HostConfigModule,
    RealtimeSessionsModule.forRootAsync({
      imports: [HostConfigModule],
      inject: [HostConfigService],
      useFactory: (config: HostConfigService) => ({ apiKeys: config.realtimeApiKeys, publicUrl: config.publicUrl, loopback: true }),
    }),
  ],
  controllers: [HostController],
})
export class HostAppModule {}

/** The host's key table (a database in real life); records what it was asked. */
@Injectable()
export class HostKeyStore {
  readonly lookups: string[] = [];
  private readonly rows = new Map<string, { id: string; project: string }>([['host-db-key-1', { id: 'db_key_1', project: 'proj_db' }]]);

  async find(apiKey: string): Promise<{ id: string; project: string } | undefined> {
    this.lookups.push(apiKey);
    return this.rows.get(apiKey);
  }
}

@Module({ providers: [HostKeyStore], exports: [HostKeyStore] })
export class HostKeyStoreModule {}

/** A custom verifier backed by a host service. */
export class HostDbApiKeyVerifier extends ApiKeyVerifier {
  constructor(private readonly store: HostKeyStore) {
    super();
  }

  async verify(apiKey: string): Promise<ApiKeyIdentity | null> {
    const row = await this.store.find(apiKey);
    return row ? { keyId: row.id, projectId: row.project, kind: 'runtime' } : null;
  }
}

@Module({
  imports: [
    HostKeyStoreModule,
    RealtimeSessionsModule.forRootAsync({
      imports: [HostKeyStoreModule],
      inject: [HostKeyStore],
      useFactory: (store: HostKeyStore) => ({ apiKeyVerifier: new HostDbApiKeyVerifier(store) }),
    }),
  ],
  controllers: [HostController],
})
export class HostAppWithKeyStoreModule {}

// Default verifier: a fixed list of keys from module options or the environment, held only as
// SHA-256 digests and looked up by digest, never compared as plain strings.
import { sha256Hex } from '../common/digest.js';
import { ApiKeyVerifier, type ApiKeyIdentity, type ApiKeyKind } from './api-key-verifier.js';

export interface StaticApiKey {
  key: string;
  projectId?: string;
  /** Default `runtime`. */
  kind?: ApiKeyKind;
  /** Default: `key_` plus the first 12 hex digits of the key's digest. */
  keyId?: string;
}

export class StaticApiKeyVerifier extends ApiKeyVerifier {
  private readonly byDigest = new Map<string, ApiKeyIdentity>();
  private readonly keyIds = new Set<string>();

  constructor(keys: readonly StaticApiKey[]) {
    super();
    for (const [index, entry] of keys.entries()) {
      if (typeof entry.key !== 'string' || entry.key.length === 0) {
        throw new Error('StaticApiKeyVerifier: every entry needs a non-empty `key`');
      }
      const digest = sha256Hex(entry.key);
      if (this.byDigest.has(digest)) {
        // One key for two projects would silently belong to the last one listed.
        throw new Error(`StaticApiKeyVerifier: the key of entry #${index + 1} is listed twice`);
      }
      const keyId = entry.keyId ?? `key_${digest.slice(0, 12)}`;
      this.byDigest.set(digest, { keyId, projectId: entry.projectId || undefined, kind: entry.kind ?? 'runtime' });
      this.keyIds.add(keyId);
    }
  }

  async verify(apiKey: string): Promise<ApiKeyIdentity | null> {
    return this.byDigest.get(sha256Hex(apiKey)) ?? null;
  }

  override async isKeyActive(keyId: string): Promise<boolean> {
    return this.keyIds.has(keyId);
  }
}

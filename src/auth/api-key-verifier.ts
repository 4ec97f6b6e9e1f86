// The key-store abstraction. A host app plugs its own (database, KMS, ...) by providing a subclass;
// the abstract class is both the type and the DI token.

export type ApiKeyKind = 'runtime' | 'management';

/** Who a verified key belongs to. Never holds the key itself. */
export interface ApiKeyIdentity {
  /** A stable, non-secret identifier of the key (safe to log and to store in tickets). */
  keyId: string;
  /** The project the key is scoped to. A key without one is refused. */
  projectId: string | undefined;
  kind: ApiKeyKind;
}

export abstract class ApiKeyVerifier {
  /**
   * Look a presented key up. Resolve `null` for an unknown key; throw only when the store
   * cannot answer (the request then fails closed with 503).
   */
  abstract verify(apiKey: string): Promise<ApiKeyIdentity | null>;

  /**
   * Whether the key a ticket was minted with is still valid, checked when the ticket is redeemed
   * (a revoked key's outstanding tickets stop working). Default: true.
   */
  async isKeyActive(_keyId: string): Promise<boolean> {
    return true;
  }
}

// The module option `warmUpstreams` (providers/warm-upstreams.ts), apart so the provider options can name it.

export interface WarmUpstreamsOptions {
  /** Open sockets kept ready per provider endpoint (per model where the URL names the model). */
  size: number;
  /**
   * A socket unused this long is closed and replaced. Keep it well below the rotation margin
   * (`limits.rotationMarginSeconds`): a provider's session clock starts when the socket connects.
   */
  idleSeconds: number;
  /** Which models to pre-connect. Default: every realtime model of every configured provider that can be. */
  models?: string[];
}

export const DEFAULT_WARM_IDLE_SECONDS = 30;

// The public face of the xAI provider.
export { xaiProvider, XaiProvider } from './xai.provider.js';
export { xaiDialect, XAI_DEFAULT_TRANSCRIPTION_MODEL } from './xai-dialect.js';
export { fetchXaiClientSecret, XAI_CLIENT_SECRET_TTL_SECONDS, type XaiClientSecretOptions } from './xai-client-secret.js';
export type { XaiWireSession, XaiSessionUpdateEvent, XaiClientSecretRequest, XaiClientSecretResponse, XaiUsage } from './xai-wire.js';

export { describeRealtimeApi, buildRealtimeApiDocument, DOCUMENTED_MODELS, type RealtimeApiDocsOptions } from './describe-realtime-api.js';
export { ApiMintRealtimeSession, RUNTIME_KEY_SECURITY, REALTIME_API_TAG } from './mint-route.decorators.js';
export { MINT_ERROR_CODES, mintErrorCodesByStatus, type MintErrorCode } from './mint-error-codes.js';
export { ErrorBodyDto, ErrorDetailDto } from './error-body.dto.js';
export { RealtimeSessionResponseDto } from './realtime-session.response.js';

// The public face of the OpenAI provider.
export { openaiProvider, OpenAiProvider, openAiRealtimeUrl } from './openai.provider.js';
export { OPENAI_DIALECT, toGaSession, OPENAI_PCM_RATE, OPENAI_DEFAULT_TRANSCRIPTION_MODEL } from './openai-dialect.js';
export { OpenAiRealtimeSession, normalizeUsage, toTurnDetection, type OpenAiDialect, type SessionSettings } from './openai-realtime-session.js';

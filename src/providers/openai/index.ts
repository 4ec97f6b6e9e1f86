export { OpenAiProvider } from './openai.provider.js';
export { OpenAiSession, toGaSession, OPENAI_PCM_RATE, OPENAI_DEFAULT_TRANSCRIPTION_MODEL } from './openai.session.js';

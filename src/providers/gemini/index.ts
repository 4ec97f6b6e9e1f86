// The public face of the Gemini provider. Nothing exported here mentions @google/genai's types
// (a dev dependency: the wire types are only checked at build time).
export { geminiProvider, GeminiProvider, GEMINI_LIVE_PATH } from './gemini.provider.js';
export { GeminiSession, GEMINI_INPUT_SAMPLE_RATE, GEMINI_OUTPUT_SAMPLE_RATE } from './gemini.session.js';
export { endForGeminiClose } from './gemini-close.js';

// The public face of the loopback provider.
export { loopbackProvider, LoopbackProvider } from './loopback.provider.js';
export { LoopbackSession, LOOPBACK_SAMPLE_RATE } from './loopback.session.js';

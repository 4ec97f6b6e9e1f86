// Constants shared by the benchmark's processes.

export const BENCH_KEY = 'rtk-bench-runtime-key-0123456789abcdef';
export const BENCH_PROJECT = 'proj_bench';
export const BENCH_KEY_ID = 'key_bench';
export const BENCH_MODEL = 'openai/gpt-realtime-2';

/**
 * What a backend typically binds: model, voice, instructions, two locked fields, a TTL. The bare
 * route receives the same body (and the platform parses it the same way) but does nothing with it.
 */
export const MINT_BODY = JSON.stringify({
  config: {
    model: BENCH_MODEL,
    voice: 'marin',
    instructions: 'You are a friendly voice assistant for a bike shop. Keep answers short.',
    turn_detection: { type: 'server_vad', silence_duration_ms: 500 },
  },
  locked_fields: ['instructions', 'tools'],
  ttl_seconds: 60,
});

/** The same, alive long enough for the memory measurement (100,000 tickets) and the relay setup. */
export const MINT_BODY_LONG_TTL = MINT_BODY.replace('"ttl_seconds":60', '"ttl_seconds":300');

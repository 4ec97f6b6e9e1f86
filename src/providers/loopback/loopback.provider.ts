// The built-in `loopback` provider (model `loopback/echo`): an upstream that lives in-process and
// answers deterministically, for local development, demos and the gateway's end-to-end tests.
// Off by default in the library (`loopback: true` turns it on), on by default in the standalone
// server (`REALTIME_LOOPBACK_ENABLED=false` turns it off).
import { throwIfAbandoned } from '../core/upstream-errors.js';
import { defineProvider, PluginProvider } from '../provider-plugin.js';
import { LOOPBACK_SAMPLE_RATE, LoopbackSession } from './loopback.session.js';

export const loopbackProvider = defineProvider({
  name: 'loopback',
  label: 'Loopback (in-process echo)',
  access: { kind: 'in-process', enabledByDefault: false, envSwitch: 'REALTIME_LOOPBACK_ENABLED', standaloneDefault: true },
  models: [
    {
      id: 'loopback/echo',
      realtime: true,
      inputSampleRate: LOOPBACK_SAMPLE_RATE,
      outputSampleRate: LOOPBACK_SAMPLE_RATE,
      voices: ['echo', 'alloy', 'marin'],
      defaultVoice: 'echo',
      honouredFields: ['model', 'voice', 'modalities', 'input_audio_format', 'output_audio_format', 'input_transcription', 'output_transcription', 'turn_detection', 'tools'],
    },
  ],
  async open(params) {
    // The client already left: opening anyway would leave a session nobody will close.
    throwIfAbandoned(params.signal);
    return new LoopbackSession(params.config, params.handlers);
  },
});

/** The loopback provider, for the `providers` option. */
export class LoopbackProvider extends PluginProvider {
  constructor() {
    super(loopbackProvider);
  }
}

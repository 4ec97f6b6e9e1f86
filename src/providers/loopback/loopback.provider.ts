// The built-in `loopback` provider (model `loopback/echo`): an upstream that lives in-process and
// answers deterministically, for local development, demos and the gateway's end-to-end tests.
import { Injectable } from '@nestjs/common';
import { RealtimeProvider, type OpenUpstreamParams, type UpstreamSession } from '../realtime-provider.js';
import { LoopbackSession } from './loopback.session.js';

@Injectable()
export class LoopbackProvider extends RealtimeProvider {
  readonly name = 'loopback';

  async open(params: OpenUpstreamParams): Promise<UpstreamSession> {
    // The client already left: opening anyway would leave a session nobody will close.
    if (params.signal.aborted) throw new Error('The session was abandoned before the upstream opened');
    return new LoopbackSession(params.config, params.handlers);
  }
}

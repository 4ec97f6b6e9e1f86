// WebSocket close codes the gateway sends (docs/protocol.md §3.4), in one place for the session
// and every provider adapter.
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Policy: 1008,
  TooBig: 1009,
  Internal: 1011,
  Overloaded: 1013,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

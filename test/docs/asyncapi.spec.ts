// docs/asyncapi.yaml is a valid AsyncAPI 3.0 document that lists every event the gateway handles,
// both ways, and the whole error-code and close-code vocabulary. The event names are read from the
// source (the client frame parser's switch, the ServerEvent union), so adding an event without
// documenting it fails here.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { CloseCode } from '../../src/errors/close-codes.js';
import { ErrorCode } from '../../src/errors/error-codes.js';
import { SESSION_CONFIG_FIELDS } from '../../src/session-config/session-config.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The `case '<type>':` labels of parseClientFrame's switch. */
function clientEventTypes(): string[] {
  const source = read('src/gateway/client-events.ts');
  const start = source.indexOf('export function parseClientFrame');
  expect(start).toBeGreaterThan(-1);
  const types = [...source.slice(start).matchAll(/case '([a-z_.]+)':/g)].map((m) => m[1]);
  expect(types.length).toBeGreaterThan(5);
  return [...new Set(types)].sort();
}

/** The `type` of every member of the ServerEvent union, plus the lifecycle events the gateway owns. */
function serverEventTypes(): string[] {
  const source = read('src/providers/realtime-provider.ts');
  const start = source.indexOf('export type ServerEvent');
  expect(start).toBeGreaterThan(-1);
  const union = source.slice(start, source.indexOf(';\n', source.indexOf('\n  |', start)) + 1);
  const types = [...union.matchAll(/type: '([a-z_.]+)'/g)].map((m) => m[1]);
  expect(types.length).toBeGreaterThan(5);
  // The lifecycle events the gateway owns (session.resumed: client resume, gateway/session-resume.ts).
  return [...new Set([...types, 'session.started', 'session.terminating', 'session.resumed'])].sort();
}

describe('docs/asyncapi.yaml', () => {
  let document: AsyncAPIDocumentInterface;
  let json: any;

  beforeAll(async () => {
    const { document: parsed, diagnostics } = await new Parser().parse(read('docs/asyncapi.yaml'));
    // Severity 0 is an error and 1 a warning; 2 (information) only suggests the newest version.
    const problems = diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
    expect(problems).toEqual([]);
    expect(parsed).toBeDefined();
    document = parsed!;
    json = document.json();
  }, 60_000);

  it('is AsyncAPI 3.0 with the upgrade channel and its three credentials', () => {
    expect(json.asyncapi).toBe('3.0.0');
    expect(json.channels.realtime.address).toBe('/v3/realtime');
    expect(Object.keys(json.components.securitySchemes).sort()).toEqual(['runtimeKey', 'ticketQuery', 'ticketSubprotocol']);
  });

  /** The `type` const of each message an operation lists, checked against the message name. */
  function typesOf(operationId: string, action: 'send' | 'receive'): string[] {
    const operation = document.operations().get(operationId);
    expect(operation).toBeDefined();
    expect(operation!.action()).toBe(action);
    return operation!
      .messages()
      .all()
      .map((message) => {
        const type = (message.payload()?.json() as any)?.properties?.type?.const;
        expect(message.name()).toBe(type);
        return type as string;
      })
      .sort();
  }

  it('documents exactly the client events the gateway parses', () => {
    expect(typesOf('receiveClientEvents', 'receive')).toEqual(clientEventTypes());
  });

  it('documents exactly the server events the gateway sends', () => {
    expect(typesOf('sendServerEvents', 'send')).toEqual(serverEventTypes());
  });

  it('lists the whole error.code vocabulary and every close code', () => {
    expect([...json.components.schemas.ErrorCode.enum].sort()).toEqual(Object.values(ErrorCode).sort());
    expect([...json.components.schemas.CloseCode.enum].sort()).toEqual(Object.values(CloseCode).sort());
  });

  it('describes every session config field', () => {
    expect(Object.keys(json.components.schemas.SessionConfig.properties).sort()).toEqual([...SESSION_CONFIG_FIELDS].sort());
  });
});

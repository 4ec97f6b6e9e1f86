// Test doubles plugged in through the module's options or Nest DI (jest.mock does not reach ESM).
import {
  ApiKeyVerifier,
  SessionEventsHook,
  TicketRepository,
  type ApiKeyIdentity,
  type SessionEndedEvent,
  type SessionStartedEvent,
  type TicketRecord,
} from '../../src/index.js';

/** An ApiKeyVerifier over a fixed table that records every key it was asked about. */
export class RecordingApiKeyVerifier extends ApiKeyVerifier {
  readonly calls: string[] = [];

  constructor(private readonly table: Record<string, ApiKeyIdentity | 'throw'> = {}) {
    super();
  }

  async verify(apiKey: string): Promise<ApiKeyIdentity | null> {
    this.calls.push(apiKey);
    const entry = this.table[apiKey];
    if (entry === 'throw') throw new Error('key store is down');
    return entry ?? null;
  }
}

/** A TicketRepository that keeps a deep copy of every saved record, in order. */
export class RecordingTicketRepository extends TicketRepository {
  readonly saved: TicketRecord[] = [];

  async save(ticket: TicketRecord): Promise<void> {
    this.saved.push(structuredClone(ticket));
  }

  async consume(id: string): Promise<TicketRecord | null> {
    const index = this.saved.findIndex((record) => record.id === id);
    return index < 0 ? null : this.saved.splice(index, 1)[0];
  }

  get last(): TicketRecord {
    const record = this.saved.at(-1);
    if (!record) throw new Error('no ticket was saved');
    return record;
  }
}

/** A TicketRepository whose store cannot be reached. */
export class UnreachableTicketRepository extends TicketRepository {
  saveCalls = 0;

  async save(): Promise<void> {
    this.saveCalls += 1;
    throw new Error('ECONNREFUSED 127.0.0.1:6379');
  }

  async consume(): Promise<TicketRecord | null> {
    throw new Error('ECONNREFUSED 127.0.0.1:6379');
  }
}

/** A SessionEventsHook that keeps every event it was given, in order. */
export class RecordingSessionEvents extends SessionEventsHook {
  readonly started: SessionStartedEvent[] = [];
  readonly ended: SessionEndedEvent[] = [];

  sessionStarted(event: SessionStartedEvent): void {
    this.started.push(event);
  }

  sessionEnded(event: SessionEndedEvent): void {
    this.ended.push(event);
  }
}

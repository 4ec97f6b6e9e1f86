// The three lines operators grep for, with one set of field names: one per mint, one per
// redemption (with its outcome), one per session end. They go through Nest's Logger, so the
// standalone server writes them as pino JSON, and a host with its own nestjs-pino (or any Nest
// logger) gets them through its logger. Secrets never enter these records: no ticket secret, no
// key, no instructions, no audio — only ids, names, sizes and codes.
import { Logger, type LoggerService } from '@nestjs/common';

export const REALTIME_LOG_CONTEXT = 'Realtime';

export interface MintLogFields {
  requestId?: string;
  projectId?: string;
  keyId?: string;
  /** Bound model, when the ticket binds one. */
  model?: string;
  status: number;
  /** `ok`, or the error code answered. */
  outcome: string;
  ttlSeconds?: number;
  lockedFields?: readonly string[];
}

export interface RedemptionLogFields {
  requestId?: string;
  projectId?: string;
  keyId?: string;
  /** `ok`, `replayed`, `expired`, `unknown`, `store_unavailable`, `limit_reached`, … */
  outcome: string;
  credential?: 'ticket' | 'api_key';
  /** Seconds from mint to redemption (successful ticket redemptions). */
  waitedSeconds?: number;
}

export interface SessionEndLogFields {
  requestId?: string;
  sessionId: string;
  projectId: string;
  keyId: string;
  /** Absent when the session never started (no `session.started`). */
  model?: string;
  provider?: string;
  /** From `session.started` (from the upgrade when it never started) to the close. */
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  endReason: string;
  closeCode: number;
  usage?: Record<string, unknown>;
}

type LogRecord = Record<string, unknown> & { msg: string; event: string };

/** Drops undefined fields so the JSON line carries only what is known. */
function compact(record: Record<string, unknown>): LogRecord {
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  return record as LogRecord;
}

export function mintRecord(f: MintLogFields): LogRecord {
  return compact({
    msg: `ticket mint ${f.outcome}`,
    event: 'ticket.mint',
    request_id: f.requestId,
    project: f.projectId,
    key_id: f.keyId,
    model: f.model,
    status: f.status,
    outcome: f.outcome,
    ttl_seconds: f.ttlSeconds,
    locked_fields: f.lockedFields?.length ? [...f.lockedFields] : undefined,
  });
}

export function redemptionRecord(f: RedemptionLogFields): LogRecord {
  return compact({
    msg: `ticket redemption ${f.outcome}`,
    event: 'ticket.redemption',
    request_id: f.requestId,
    project: f.projectId,
    key_id: f.keyId,
    outcome: f.outcome,
    credential: f.credential,
    waited_seconds: f.waitedSeconds,
  });
}

export function sessionEndRecord(f: SessionEndLogFields): LogRecord {
  return compact({
    msg: `session ended: ${f.endReason}`,
    event: 'session.end',
    request_id: f.requestId,
    session_id: f.sessionId,
    project: f.projectId,
    key_id: f.keyId,
    model: f.model,
    provider: f.provider,
    duration_ms: f.durationMs,
    bytes_in: f.bytesIn,
    bytes_out: f.bytesOut,
    end_reason: f.endReason,
    close_code: f.closeCode,
    usage: f.usage,
  });
}

/** Writes the three records at the right levels through a Nest logger (default: `new Logger('Realtime')`). */
export class RealtimeLog {
  constructor(private readonly logger: LoggerService = new Logger(REALTIME_LOG_CONTEXT)) {}

  mint(fields: MintLogFields): void {
    const record = mintRecord(fields);
    if (fields.status >= 500) this.logger.warn(record);
    else this.logger.log(record);
  }

  redemption(fields: RedemptionLogFields): void {
    const record = redemptionRecord(fields);
    if (fields.outcome === 'store_unavailable') this.logger.warn(record);
    else this.logger.log(record);
  }

  sessionEnded(fields: SessionEndLogFields): void {
    this.logger.log(sessionEndRecord(fields));
  }
}

// What the upgrade-time guard decided about a connection, handed from ws's verifyClient to the
// session through the upgrade request object.
import type { IncomingMessage } from 'node:http';
import type { TicketRecord } from '../tickets/ticket.record.js';

export interface Admission {
  projectId: string;
  keyId: string;
  credential: 'ticket' | 'api_key';
  /** Present for ticket sessions: what the overlay enforces. Bearer sessions have no overlay. */
  ticket?: TicketRecord;
  /** The exact `opper-ticket.<secret>` entry the client offered, when the ticket came that way. */
  offeredTicketProtocol?: string;
}

const admissions = new WeakMap<IncomingMessage, Admission>();

export function setAdmission(req: IncomingMessage, admission: Admission): void {
  admissions.set(req, admission);
}

export function takeAdmission(req: IncomingMessage): Admission | undefined {
  const admission = admissions.get(req);
  admissions.delete(req);
  return admission;
}

export function peekAdmission(req: IncomingMessage): Admission | undefined {
  return admissions.get(req);
}

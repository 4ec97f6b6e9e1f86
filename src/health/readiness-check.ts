// What GET /health/ready asks: named checks that resolve when a dependency can answer and throw
// when it cannot. Each runs under a timeout, so a frozen Redis makes the instance not ready
// instead of hanging the probe. Checks are registered at start-up (the ticket store, the session
// limiter) and may be removed again.
import { Injectable } from '@nestjs/common';

export interface ReadinessCheck {
  /** Key of the check in the health body (`ticket_store`, `session_limiter`, …). */
  readonly name: string;
  /** Resolves when ready; throws (or rejects) when not. `signal` aborts when the timeout passes. */
  check(signal: AbortSignal): Promise<void>;
  /** Longest wait for this check (ms). Default: the module's `checkTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** Anything that can say whether its backing store answers: the ticket store, the session limiter. */
export interface Pingable {
  ping(): Promise<void>;
}

/** A readiness check that pings `target` (`TicketRepository.ping`, a limiter's `ping`). */
export function pingCheck(name: string, target: Pingable, timeoutMs?: number): ReadinessCheck {
  return { name, timeoutMs, check: () => target.ping() };
}

/** The registered readiness checks. Injectable: register yours at start-up (`onModuleInit`, a factory). */
@Injectable()
export class ReadinessChecks {
  private readonly checks = new Map<string, ReadinessCheck>();

  /** Adds (or replaces, by name) a check; returns a function that removes it. */
  register(check: ReadinessCheck): () => void {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(check.name)) throw new Error(`ReadinessChecks: invalid check name "${check.name}"`);
    this.checks.set(check.name, check);
    return () => {
      if (this.checks.get(check.name) === check) this.checks.delete(check.name);
    };
  }

  list(): ReadinessCheck[] {
    return [...this.checks.values()];
  }
}

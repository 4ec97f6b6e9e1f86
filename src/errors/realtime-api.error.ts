// An API error as a value: an HTTP status plus a stable code, rendered by RealtimeErrorFilter.
import { HttpException } from '@nestjs/common';
import type { ErrorBody, ErrorCode } from './error-codes.js';

export class RealtimeApiError extends HttpException {
  /** Sent as the `Retry-After` header (seconds) of a 429 / 503, over HTTP and on a refused upgrade. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(toErrorBody(code, message, details), status, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterSeconds = options?.retryAfterSeconds;
    // HttpException would name the class here when the response is an object; keep the human text.
    this.message = message;
  }
}

export function toErrorBody(code: string, message: string, details?: unknown): ErrorBody {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

// Renders every HTTP error of this module's routes (or of the whole app, with `formatAllErrors`)
// as `{"error":{"code","message","details?"}}`: guard and validation errors, bodies that are not
// JSON, wrong media types, 404 and 405 alike. Other routes keep Nest's default rendering.
import { ArgumentsHost, Catch, HttpException, HttpStatus, Inject, Logger, Optional } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { RESOLVED_OPTIONS, REALTIME_SESSIONS_PATH, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { ErrorCode, type ErrorBody } from './error-codes.js';
import { RealtimeApiError, toErrorBody } from './realtime-api.error.js';

/** This module's paths and everything below them (not any path that merely starts the same). */
const MODULE_PATH = /^\/v3\/(realtime|realtime-sessions)(\/|$)/;

/** An error response the filter rendered on one of this module's routes. */
export interface RenderedError {
  /** The platform's request object (Express or Fastify). */
  request: unknown;
  method: string;
  /** The path without its query. */
  path: string;
  status: number;
  code: string;
}

/**
 * Told of every error response the filter renders, guard and body-parser errors included (they
 * never reach a controller): the mint route counts and logs its failures through it. Optional.
 */
export abstract class RenderedErrorListener {
  abstract onRenderedError(error: RenderedError): void;
}

@Catch()
export class RealtimeErrorFilter extends BaseExceptionFilter {
  private readonly logger = new Logger(RealtimeErrorFilter.name);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
    @Optional() private readonly listener?: RenderedErrorListener,
  ) {
    super(adapterHost.httpAdapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return super.catch(exception, host);
    const http = host.switchToHttp();
    const adapter = this.adapterHost.httpAdapter;
    const request = http.getRequest();
    const response = http.getResponse();
    const url: string = adapter.getRequestUrl(request) ?? '';
    const path = url.split('?', 1)[0];
    if (!this.options.formatAllErrors && !MODULE_PATH.test(path)) {
      return super.catch(exception, host);
    }
    const method = adapter.getRequestMethod(request);
    const { status, body } = this.render(exception, method, path);
    this.notify({ request, method, path, status, code: body.error.code });
    // Only the minting route's 405 is known to allow POST; a host route's 405 (formatAllErrors) is not.
    if (status === HttpStatus.METHOD_NOT_ALLOWED && path.replace(/\/+$/, '') === REALTIME_SESSIONS_PATH) adapter.setHeader(response, 'Allow', 'POST');
    if (exception instanceof RealtimeApiError && exception.retryAfterSeconds !== undefined) {
      adapter.setHeader(response, 'Retry-After', String(exception.retryAfterSeconds));
    }
    if (adapter.isHeadersSent(response)) return;
    adapter.reply(response, body, status);
  }

  private notify(error: RenderedError): void {
    try {
      this.listener?.onRenderedError(error);
    } catch (err) {
      // Counting an error must never change how it is answered.
      this.logger.error(`Error listener failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  private render(exception: unknown, method: string, path: string): { status: number; body: ErrorBody } {
    if (exception instanceof RealtimeApiError) {
      return { status: exception.getStatus(), body: exception.getResponse() as ErrorBody };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const cause = exception.cause as { code?: string; type?: string } | undefined;
      const message = exception.message;
      switch (status) {
        case 400:
          if (cause instanceof SyntaxError || cause?.type === 'entity.parse.failed' || /^FST_ERR_CTP_(INVALID_JSON|EMPTY_JSON)/.test(cause?.code ?? '') || /JSON/.test(message)) {
            return { status, body: toErrorBody(ErrorCode.InvalidJson, 'Request body is not valid JSON') };
          }
          return { status, body: toErrorBody(ErrorCode.InvalidRequest, message) };
        case 404:
          return { status, body: toErrorBody(ErrorCode.NotFound, `No route for ${method} ${path}`) };
        case 405:
          return { status, body: toErrorBody(ErrorCode.MethodNotAllowed, `${method} is not allowed on ${path}`) };
        case 413:
          return { status, body: toErrorBody(ErrorCode.PayloadTooLarge, 'Request body is too large') };
        case 415:
          return { status, body: toErrorBody(ErrorCode.UnsupportedMediaType, 'Request body must be application/json') };
        default:
          if (status < 500) return { status, body: toErrorBody(ErrorCode.InvalidRequest, message) };
      }
    }
    this.logger.error(`Unhandled error on ${method} ${path}`, (exception as Error)?.stack ?? String(exception));
    return { status: 500, body: toErrorBody(ErrorCode.InternalError, 'Internal server error') };
  }
}

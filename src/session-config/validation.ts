// Turns class-validator results into one 400 error value that names the offending field(s).
// The validator is called directly (no global ValidationPipe) so only this module's inputs pay for it.
import { HttpStatus } from '@nestjs/common';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync, type ValidationError, type ValidatorOptions } from 'class-validator';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { passesFastValidation } from './fast-validation.js';

const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
};

export interface FieldProblem {
  field: string;
  message: string;
  unknown: boolean;
}

function collect(errors: ValidationError[], prefix: string, out: FieldProblem[]): void {
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
      const unknown = constraint === 'whitelistValidation';
      out.push({
        field,
        unknown,
        message: unknown ? `Unknown field "${field}"` : message.replace(new RegExp(`^${escape(error.property)}\\b`), field),
      });
    }
    if (error.children?.length) collect(error.children, field, out);
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a plain JSON object against a DTO class and throws a 400 RealtimeApiError listing every
 * problem; the message names the first. `prefix` is prepended to field paths (e.g. `config`).
 */
export function assertValid<T extends object>(dto: ClassConstructor<T>, plain: Record<string, unknown>, prefix = ''): void {
  // Valid input (the common case) skips class-validator's generic executor; see fast-validation.ts.
  if (passesFastValidation(dto, plain)) return;
  const instance = plainToInstance(dto, plain, { enableImplicitConversion: false });
  const errors = validateSync(instance, VALIDATOR_OPTIONS);
  if (errors.length === 0) return;
  const problems: FieldProblem[] = [];
  collect(errors, prefix, problems);
  const first = problems[0] ?? { field: prefix, message: 'Invalid value', unknown: false };
  throw new RealtimeApiError(
    HttpStatus.BAD_REQUEST,
    first.unknown ? ErrorCode.UnknownField : ErrorCode.InvalidField,
    first.message,
    { field: first.field, errors: problems.map(({ field, message }) => ({ field, message })) },
  );
}

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
 * Deepest nesting of objects and arrays accepted anywhere in a validated input. class-transformer
 * and class-validator recurse once per level: a body nested a few thousand levels deep (a few kB of
 * `[[[[…`) would overflow the stack and surface as a 500. No config needs more than a JSON schema's
 * handful of levels.
 */
export const MAX_NESTING_DEPTH = 64;

/** The field (path of at most three keys) under which `plain` nests deeper than MAX_NESTING_DEPTH, if any. */
function tooDeepField(plain: Record<string, unknown>, prefix: string): string | undefined {
  // Iterative on purpose: the check must not itself recurse.
  const stack: Array<[unknown, number, string]> = [[plain, 0, prefix]];
  while (stack.length > 0) {
    const [value, depth, field] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_NESTING_DEPTH) return field;
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (typeof child !== 'object' || child === null) continue;
      const path = depth < 3 ? (field ? `${field}.${key}` : key) : field;
      stack.push([child, depth + 1, path]);
    }
  }
  return undefined;
}

/**
 * Validates a plain JSON object against a DTO class and throws a 400 RealtimeApiError listing every
 * problem; the message names the first. `prefix` is prepended to field paths (e.g. `config`).
 */
export function assertValid<T extends object>(dto: ClassConstructor<T>, plain: Record<string, unknown>, prefix = ''): void {
  // Valid input (the common case) skips class-validator's generic executor; see fast-validation.ts.
  if (passesFastValidation(dto, plain)) return;
  const deep = tooDeepField(plain, prefix);
  if (deep !== undefined) {
    const message = `${deep || 'The body'} is nested more than ${MAX_NESTING_DEPTH} levels deep`;
    throw new RealtimeApiError(HttpStatus.BAD_REQUEST, ErrorCode.InvalidField, message, { field: deep, errors: [{ field: deep, message }] });
  }
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

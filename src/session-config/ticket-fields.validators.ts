// class-validator constraints of the mint body's backend-control fields (docs/protocol.md §1):
// `metadata` (a small map of strings, for the backend's own attribution) and `allowed_origins`
// (web origins). Their results depend only on the value, so fast-validation.ts may call them.
import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { canonicalOrigin } from '../common/origin.js';

export const METADATA_MAX_KEYS = 16;
export const METADATA_MAX_KEY_BYTES = 128;
export const METADATA_MAX_VALUE_BYTES = 512;
export const ALLOWED_ORIGINS_MAX = 16;

/** What is wrong with a metadata value, or undefined when it is a valid map. */
export function metadataProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object of string values';
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return 'must be an object of string values';
  const entries = Object.entries(value);
  if (entries.length > METADATA_MAX_KEYS) return `must have at most ${METADATA_MAX_KEYS} keys`;
  for (const [key, item] of entries) {
    if (key === '' || Buffer.byteLength(key) > METADATA_MAX_KEY_BYTES) return `keys must be 1-${METADATA_MAX_KEY_BYTES} bytes`;
    if (typeof item !== 'string') return `.${key} must be a string`;
    if (Buffer.byteLength(item) > METADATA_MAX_VALUE_BYTES) return `.${key} must be at most ${METADATA_MAX_VALUE_BYTES} bytes`;
  }
  return undefined;
}

/** `{[key]: string}` with at most 16 keys of 1–128 bytes and values of at most 512 bytes. */
export function IsStringMap(options?: ValidationOptions): PropertyDecorator {
  return (object, propertyName) =>
    registerDecorator({
      name: 'isStringMap',
      target: object.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => metadataProblem(value) === undefined,
        defaultMessage: (args?: ValidationArguments) => {
          const problem = metadataProblem(args?.value) ?? 'is invalid';
          // ".key must…" names the entry: `metadata.key must…`.
          return `${args?.property}${problem.startsWith('.') ? '' : ' '}${problem}`;
        },
      },
    });
}

/** An http(s) origin: `scheme://host[:port]`, nothing more. */
export function IsWebOrigin(options?: ValidationOptions): PropertyDecorator {
  return (object, propertyName) =>
    registerDecorator({
      name: 'isWebOrigin',
      target: object.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && canonicalOrigin(value) !== undefined,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must list origins such as "https://app.example.com" (scheme, host and port only)`,
      },
    });
}

// A fast path for `assertValid` (validation.ts) on valid input. class-validator's executor is
// generic and costly per call (it filters the global metadata store for every object, builds a
// ValidationError per property, runs class-transformer first): about 15 µs for a typical mint body,
// the largest cost of minting. This compiles each DTO once, from the DTO's own class-validator and
// class-transformer metadata, into a direct walk that calls the very same constraint functions
// (isString, maxLength, isIn, matches, …) with the same constraints.
//
// It can only say "valid". Whatever it is not certain about — an unknown key, a prototype key, a
// value that fails a constraint, a nested value that is not a plain object, a decorator or option
// it does not know — returns false, and class-validator then runs as before and gives the
// authoritative answer and the error messages. A DTO that uses anything it does not support gets
// no fast path at all. So no rule is loosened: a body passes here only if every constraint
// class-validator would run passes.
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { getMetadataStorage, type ValidationArguments } from 'class-validator';

type Check = (value: Record<string, unknown>) => boolean;

interface ValidationMetadataLike {
  type: string;
  name?: string;
  propertyName: string;
  constraints?: unknown[];
  each?: boolean;
  always?: boolean;
  groups?: string[];
  validateIf?: unknown;
  constraintCls?: unknown;
}

interface ConstraintLike {
  async?: boolean;
  instance: { validate(value: unknown, args: ValidationArguments): unknown };
}

/**
 * Built-in class-validator constraints whose result depends only on the value and the
 * constraints, never on the object or on other properties.
 */
const PURE_CONSTRAINTS = new Set([
  'isString',
  'isBoolean',
  'isArray',
  'isObject',
  'isInt',
  'isNumber',
  'min',
  'max',
  'maxLength',
  'minLength',
  'isIn',
  'matches',
  'arrayMaxSize',
  // session-config/ticket-fields.validators.ts: functions of the value alone.
  'isStringMap',
  'isWebOrigin',
]);

const NO_FAST_PATH: Check = () => false;
const compiled = new Map<Function, Check>();

/** True only when `plain` certainly passes `assertValid(dto, plain)`; false means "ask class-validator". */
export function passesFastValidation(dto: Function, plain: unknown): boolean {
  let check = compiled.get(dto);
  if (!check) {
    check = compileSafely(dto);
    compiled.set(dto, check);
  }
  return isPlainJsonObject(plain) && check(plain);
}

function isPlainJsonObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The class class-transformer gives a nested object (and each object of a nested array) of
 * `property`, asked through its public API; undefined when it keeps them plain (no @Type) or when
 * the two disagree. (A discriminated @Type, whose class depends on the value, is not used here.)
 */
function nestedClassOf(dto: Function, property: string): Function | undefined {
  const transform = (value: unknown) =>
    (plainToInstance(dto as ClassConstructor<object>, { [property]: value }, { enableImplicitConversion: false }) as Record<string, unknown>)[property];
  const single = (transform({}) as object | undefined)?.constructor;
  const inArray = ((transform([{}]) as unknown[] | undefined)?.[0] as object | undefined)?.constructor;
  if (!single || single === Object || single !== inArray) return undefined;
  return single;
}

function compileSafely(dto: Function): Check {
  try {
    return compile(dto, new Map()) ?? NO_FAST_PATH;
  } catch {
    return NO_FAST_PATH;
  }
}

/** One DTO class → a check of a plain object, or undefined when something is not supported. */
function compile(dto: Function, inProgress: Map<Function, Check>): Check | undefined {
  const existing = inProgress.get(dto);
  if (existing) return existing;
  let self: Check | undefined;
  // Late-bound, so a DTO nested in itself compiles.
  inProgress.set(dto, (value) => self!(value));

  const storage = getMetadataStorage() as unknown as {
    getTargetValidationMetadatas(target: Function, schema: string, always: boolean, strictGroups: boolean, groups?: string[]): ValidationMetadataLike[];
    getTargetValidatorConstraints(cls: unknown): ConstraintLike[];
  };
  // As ValidationExecutor asks for them with the module's options (no groups, always: false).
  const metadatas = storage.getTargetValidationMetadatas(dto, '', false, false, undefined);
  // forbidUnknownValues rejects an object of a class without metadata.
  if (metadatas.length === 0) return undefined;

  const byProperty = new Map<string, ValidationMetadataLike[]>();
  for (const m of metadatas) {
    if (m.always || (m.groups && m.groups.length) || m.validateIf) return undefined;
    byProperty.set(m.propertyName, [...(byProperty.get(m.propertyName) ?? []), m]);
  }

  const properties: Array<{ name: string; check: (value: unknown, object: Record<string, unknown>) => boolean }> = [];
  for (const [name, list] of byProperty) {
    let optional = false;
    const tests: Array<(value: unknown, object: Record<string, unknown>) => boolean> = [];
    for (const m of list) {
      if (m.type === 'conditionalValidation') {
        if (m.name !== 'isOptional') return undefined;
        optional = true;
      } else if (m.type === 'customValidation') {
        if (!m.name || !PURE_CONSTRAINTS.has(m.name)) return undefined;
        const constraints = storage.getTargetValidatorConstraints(m.constraintCls);
        if (constraints.length !== 1 || constraints[0].async) return undefined;
        const validator = constraints[0].instance;
        const each = m.each === true;
        // The arguments class-validator passes; one object per constraint, filled in per call (the
        // pure constraints read only `constraints`, and nothing here is asynchronous).
        const args: ValidationArguments = { targetName: dto.name, property: name, object: {}, value: undefined, constraints: m.constraints as unknown[] };
        tests.push((value, object) => {
          args.object = object;
          args.value = value;
          if (!each) return validator.validate(value, args) === true;
          // class-validator checks every element of an array, and anything else as a whole: only
          // arrays are taken here.
          if (!Array.isArray(value)) return false;
          for (const item of value) if (validator.validate(item, args) !== true) return false;
          return true;
        });
      } else if (m.type === 'nestedValidation') {
        const nestedClass = nestedClassOf(dto, name);
        if (!nestedClass) return undefined;
        const nested = compile(nestedClass, inProgress);
        if (!nested) return undefined;
        tests.push((value) => {
          // class-transformer turns plain objects (or arrays of them) into the nested class; the
          // nested class is then validated like the top level.
          if (Array.isArray(value)) return value.every((item) => isPlainJsonObject(item) && nested(item));
          return isPlainJsonObject(value) && nested(value);
        });
      } else {
        return undefined;
      }
    }
    properties.push({
      name,
      check: (value, object) => {
        // IsOptional: null and undefined skip every other constraint of the property.
        if (optional && (value === null || value === undefined)) return true;
        for (const test of tests) if (!test(value, object)) return false;
        return true;
      },
    });
  }

  const known = new Set(properties.map((p) => p.name));
  self = (object) => {
    // whitelist + forbidNonWhitelisted: every key must be a declared property. (`__proto__` and
    // `constructor` are never declared, so they always go to the slow path.)
    for (const key of Object.keys(object)) if (!known.has(key)) return false;
    for (const property of properties) if (!property.check(object[property.name], object)) return false;
    return true;
  };
  inProgress.set(dto, self);
  return self;
}

// Go zero-value semantics of the contract: absent, null, "", false, 0, [] and {} are all "unset".

export function isZeroValue(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value as object).length === 0;
  return false;
}

/** Two config values are the same when both are zero values or their JSON is equal. */
export function sameConfigValue(a: unknown, b: unknown): boolean {
  if (isZeroValue(a) && isZeroValue(b)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Drops absent (undefined) keys; everything else is kept as sent. */
export function compactConfig<T extends object>(config: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) if (value !== undefined) out[key] = value;
  return out as T;
}

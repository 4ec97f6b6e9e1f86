// Go zero-value semantics of the contract: absent, null, "", false, 0, [] and {} are all "unset".

export function isZeroValue(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value as object).length === 0;
  return false;
}

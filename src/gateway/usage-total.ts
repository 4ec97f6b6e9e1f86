// Provider usage arrives per response (OpenAI, xAI) or per turn (Gemini); metering wants the
// session's total. Numbers are summed field by field, nested objects alike; other values keep the
// latest.

export type Usage = Record<string, unknown>;

export function addUsage(total: Usage | undefined, next: Usage): Usage {
  const out: Usage = { ...(total ?? {}) };
  for (const [key, value] of Object.entries(next)) {
    const prev = out[key];
    if (typeof value === 'number' && typeof prev === 'number') out[key] = prev + value;
    else if (isObject(value) && isObject(prev)) out[key] = addUsage(prev, value);
    else out[key] = isObject(value) ? addUsage(undefined, value) : value;
  }
  return out;
}

function isObject(value: unknown): value is Usage {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

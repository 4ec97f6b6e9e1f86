// The README's field × provider table, generated from the built-in definitions' declarations
// (`honouredFields`, `updatableFields`). field-support.spec.ts keeps the README equal to it;
// `UPDATE_README=1` on that test rewrites the README's table in place.
import type { ProviderPlugin } from '../../src/providers/provider-plugin.js';
import { SESSION_CONFIG_FIELDS } from '../../src/session-config/session-config.js';

export const TABLE_START = '<!-- field-support:start (generated from the provider definitions) -->';
export const TABLE_END = '<!-- field-support:end -->';

export function fieldSupportTable(plugins: readonly ProviderPlugin[]): string {
  const models = plugins.flatMap((plugin) => plugin.models.filter((model) => model.realtime));
  const header = `| field | ${models.map((model) => `\`${model.id}\``).join(' | ')} |`;
  const rule = `|---|${models.map(() => ':-:|').join('')}`;
  const rows = SESSION_CONFIG_FIELDS.map((field) => {
    const cells = models.map((model) => {
      if (model.honouredFields && !model.honouredFields.includes(field)) return 'refused';
      // The capability check refuses it first (`unsupported_reasoning_effort`).
      if (field === 'reasoning_effort' && !model.reasoningEffort) return 'refused';
      if (field !== 'model' && model.updatableFields && !model.updatableFields.includes(field)) return 'yes (start only)';
      return 'yes';
    });
    return `| \`${field}\` | ${cells.join(' | ')} |`;
  });
  return [TABLE_START, header, rule, ...rows, TABLE_END].join('\n');
}

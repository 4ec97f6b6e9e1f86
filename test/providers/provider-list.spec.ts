// The plugin list is the one place providers are enumerated: every built-in definition is well
// formed, its models are the built-in catalogue, and the README's provider table has exactly one row
// per definition naming its models and how to switch it on.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import * as api from '../../src/index.js';
import { BUILT_IN_MODELS, BUILT_IN_PROVIDERS } from '../../src/providers/built-in-providers.js';
import { defineProvider } from '../../src/providers/provider-plugin.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Rows of the first table under `## Providers`, as cells. */
function providerTableRows(): string[][] {
  const section = README.slice(README.indexOf('\n## Providers\n'), README.indexOf('\n## Performance\n'));
  const lines = section.split('\n');
  const start = lines.findIndex((line) => line.startsWith('| provider |'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

describe('the built-in provider list', () => {
  it('has unique names, and models only under their own prefix', () => {
    const names = BUILT_IN_PROVIDERS.map((plugin) => plugin.name);
    expect(new Set(names).size).toBe(names.length);
    for (const plugin of BUILT_IN_PROVIDERS) {
      expect(plugin.models.length).toBeGreaterThan(0);
      for (const model of plugin.models) expect(model.id.startsWith(`${plugin.name}/`)).toBe(true);
    }
    expect(BUILT_IN_MODELS).toEqual(BUILT_IN_PROVIDERS.flatMap((plugin) => plugin.models));
  });

  it('defineProvider refuses a model outside the prefix', () => {
    const base = BUILT_IN_PROVIDERS[0];
    expect(() => defineProvider({ ...base, name: 'other' })).toThrow(`must start with "other/"`);
  });

  it('the README table has one row per provider with its models and switches', () => {
    const rows = providerTableRows();
    expect(rows.map((row) => /^`([^`]+)`/.exec(row[0])?.[1])).toEqual(BUILT_IN_PROVIDERS.map((plugin) => plugin.name));
    for (const [index, plugin] of BUILT_IN_PROVIDERS.entries()) {
      const [, models, enable] = rows[index];
      for (const model of plugin.models.filter((m) => m.realtime)) expect(models).toContain(`\`${model.id}\``);
      if (plugin.access.kind === 'api-key') {
        expect(enable).toContain(`${plugin.access.envPrefix}_API_KEY`);
        expect(enable).toContain(plugin.access.defaultBaseUrl);
        expect(README).toContain(`| \`${plugin.access.envPrefix}_API_KEY\` / \`${plugin.access.envPrefix}_BASE_URL\` |`);
      } else if (plugin.access.envSwitch) {
        expect(enable).toContain(plugin.access.envSwitch);
      }
    }
  });

  it('the README example uses only exported names', () => {
    const example = README.slice(README.indexOf('### Your own provider'));
    const imported = /import \{([^}]+)\} from 'nestjs-realtime-sessions'/.exec(example)?.[1].split(',').map((name) => name.trim());
    expect(imported?.length).toBeGreaterThan(0);
    for (const name of imported!) expect(api).toHaveProperty(name);
  });
});

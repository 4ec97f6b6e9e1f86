// The layers of src/ point one way: runs dependency-cruiser with .dependency-cruiser.cjs (the same
// config `npm run lint:deps` uses) over src/ and expects no violation. Then runs the same config
// over tiny fixture trees under fixtures/, each with a known wrong import, to prove the rules bite.
import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Cruises `src` under `baseDir` with the project's dependency-cruiser config. */
async function cruiseSrc(baseDir: string): Promise<ICruiseResult> {
  const options: ICruiseOptions = await extractDepcruiseOptions(CONFIG);
  const { output } = await cruise(['src'], { ...options, baseDir });
  if (typeof output === 'string') throw new Error(`dependency-cruiser returned text, not a result: ${output}`);
  return output;
}

/** One line per violation: rule, edge (or cycle), and what the rule allows. */
function describeViolations(result: ICruiseResult, comments: Map<string, string>): string {
  return result.summary.violations
    .map((v: IViolation) => {
      const edge = v.cycle?.length ? [v.from, ...v.cycle.map((c) => c.name)].join(' → ') : `${v.from} → ${v.to}`;
      const why = comments.get(v.rule.name);
      return `  ${v.rule.severity} ${v.rule.name}: ${edge}${why ? `\n      (${why})` : ''}`;
    })
    .join('\n');
}

async function ruleComments(): Promise<Map<string, string>> {
  const options = await extractDepcruiseOptions(CONFIG);
  return new Map((options.ruleSet?.forbidden ?? []).map((r) => [r.name ?? '', r.comment ?? '']));
}

/** The violations as comparable `rule: from → to` strings, sorted. */
const edges = (result: ICruiseResult): string[] =>
  result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();

describe('layers of src/ (.dependency-cruiser.cjs)', () => {
  it('src/ has no layer violations and no import cycles', async () => {
    const result = await cruiseSrc(ROOT);

    // A cruise that resolves nothing would pass every rule: the `./x.js` specifiers must resolve to
    // the `.ts` sources, so the module graph is real.
    const local = result.modules.filter((m) => m.source.startsWith('src/'));
    expect(local.length).toBeGreaterThan(20);
    const unresolved = local.flatMap((m) =>
      m.dependencies.filter((d) => d.module.startsWith('.') && (d.couldNotResolve || !d.resolved.endsWith('.ts'))).map((d) => `${m.source} → ${d.module}`),
    );
    expect(unresolved).toEqual([]);
    const index = local.find((m) => m.source === 'src/index.ts');
    expect(index?.dependencies.some((d) => d.resolved === 'src/realtime-sessions.module.ts')).toBe(true);

    const report = describeViolations(result, await ruleComments());
    expect(report).toBe('');
    expect(result.summary.error).toBe(0);
  });

  it('reports an upward import: errors/ (layer 1) importing gateway/ (layer 5)', async () => {
    const result = await cruiseSrc(join(FIXTURES, 'upward'));
    expect(result.summary.totalCruised).toBe(2);
    expect(edges(result)).toEqual(['errors-only-imports-common: src/errors/x.ts → src/gateway/y.ts']);
  });

  it('reports a type-only import as well: common/ naming a type of errors/', async () => {
    const result = await cruiseSrc(join(FIXTURES, 'type-only'));
    expect(edges(result)).toEqual(['common-imports-nothing-of-ours: src/common/c.ts → src/errors/e.ts']);
  });

  it('inside providers/: a sibling provider and a top-level file importing a provider are reported; xai → openai and → core are not', async () => {
    const result = await cruiseSrc(join(FIXTURES, 'providers'));
    // The allowed edges were cruised (so their absence below means "allowed", not "not seen").
    const xai = result.modules.find((m) => m.source === 'src/providers/xai/mapping.ts');
    expect(xai?.dependencies.map((d) => d.resolved).sort()).toEqual([
      'src/providers/core/session.ts',
      'src/providers/openai/mapping.ts',
    ]);
    expect(edges(result)).toEqual([
      'provider-core-imports-no-provider: src/providers/registry.ts → src/providers/gemini/mapping.ts',
      'provider-imports-no-other-provider: src/providers/gemini/mapping.ts → src/providers/xai/mapping.ts',
    ]);
  });
});

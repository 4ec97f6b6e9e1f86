// Settings of the property-based (fast-check) fuzz tests. `npm test` runs them with a fixed seed and
// a few hundred runs each, so CI is reproducible; `npm run fuzz` sets FUZZ_RUNS high and
// FUZZ_SEED=random to explore. fast-check prints the seed and the shrunk counterexample of a
// failure: rerun it with FUZZ_SEED=<seed>.
import type fc from 'fast-check';

const FIXED_SEED = 20_251_124;

function seed(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return FIXED_SEED;
  if (raw === 'random') return (Math.random() * 2 ** 31) | 0;
  return Number(raw);
}

/** fast-check parameters: `runs` in `npm test`, FUZZ_RUNS when set. */
export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  const chosen = seed();
  const numRuns = Number(process.env.FUZZ_RUNS) || runs;
  return { seed: chosen, numRuns, endOnFailure: false, interruptAfterTimeLimit: numRuns > runs ? 10 * 60_000 : undefined };
}

/** Test timeout that leaves room for FUZZ_RUNS. */
export function fuzzTimeout(runs: number, msPerRun: number): number {
  return Math.max(30_000, (Number(process.env.FUZZ_RUNS) || runs) * msPerRun * 2);
}

// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, and the
// most inclusive time, as % of the samples that were not idle. Usage:
//   node bench/profile-summary.mjs bench/results/profiles/<file>.cpuprofile [top=25] [filter] [--from=s]
// `--from=s` counts only the samples taken s seconds or more after the profile started (leaves out
// the process's start-up: module loading, Nest's bootstrap).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const fromArg = args.find((a) => a.startsWith('--from='));
const [file, topArg = '25', filter] = args.filter((a) => !a.startsWith('--'));
const fromUs = fromArg ? Number(fromArg.slice('--from='.length)) * 1e6 : 0;
if (!file) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [top] [url filter] [--from=seconds]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map();
let at = 0;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas?.[i] ?? 0;
  if (at >= fromUs) counts.set(id, (counts.get(id) ?? 0) + 1);
});

const label = (n) => {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'node_modules/').replace(/.*\/bench\/\.build\//, '');
  return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
};
const idle = new Set(['(idle)', '(program)']);
let total = 0;
const self = new Map();
const inclusive = new Map();
for (const [id, count] of counts) {
  const node = byId.get(id);
  if (idle.has(node.callFrame.functionName)) continue;
  total += count;
  const key = label(node);
  self.set(key, (self.get(key) ?? 0) + count);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + count);
  }
}
const show = (title, map) => {
  console.log(`\n${title} (% of ${total} busy samples)`);
  [...map.entries()]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([k, v]) => console.log(`${((v / total) * 100).toFixed(1).padStart(6)}%  ${k}`));
};
show('self time', self);
show('inclusive time', inclusive);

// Compiles src/ and bench/ into bench/.build/ with the TypeScript compiler's transpiler and the
// project's own compiler options (tsconfig.json): the same JavaScript `npm run build` emits for
// src/, in about a second. No type check here: `npm run typecheck` covers src/ and bench/.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bench', '.build');

const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
const { options } = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, root);
const compilerOptions = { ...options, declaration: false, sourceMap: false, inlineSourceMap: true, rootDir: undefined, outDir: undefined,
  // ESM output, as nodenext emits for this `"type": "module"` package (transpileModule cannot see package.json).
  module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };

function* tsFiles(dir) {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || name === 'node_modules' || name === 'results') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* tsFiles(path);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) yield path;
  }
}

rmSync(out, { recursive: true, force: true });
let count = 0;
for (const top of ['src', 'bench']) {
  for (const file of tsFiles(join(root, top))) {
    const rel = relative(root, file);
    const result = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file, reportDiagnostics: true });
    const errors = (result.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length) {
      for (const d of errors) console.error(`${rel}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      process.exit(1);
    }
    const target = join(out, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, result.outputText);
    count += 1;
  }
}
// Node resolves packages from bench/.build/* through the project's node_modules (parent dirs), and
// `"type": "module"` from the project's package.json.
console.log(`bench: compiled ${count} files into ${relative(root, out)}/`);

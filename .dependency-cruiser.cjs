// dependency-cruiser configuration: the layers of src/ point one way (`npm run lint:deps`, and
// test/architecture/layers.spec.ts runs it as part of `npm test`).
//
// Layers, lower to higher. A folder may import its own files and the layers its rule allows,
// never a higher layer or a sibling it is not listed with:
//   1. common/ (imports nothing of ours), errors/ (may import common/)
//   2. session-config/, redis/                         → may import 1
//   3. providers/, auth/                               → may import 1–2 (not each other)
//      http/                                           → may import 1
//   4. tickets/, live-sessions/                        → may import 1–3 (not each other)
//   5. issuance/, gateway/                             → may import 1–4 (not each other)
//   6. src/*.ts (module, options, module-definition, index) → may import 1–5
//   7. standalone/                                     → may import everything; nothing imports it
// Inside providers/: core/ and the top-level providers/*.ts files import no provider folder;
// a provider folder (providers/<name>/) may import core/, the top-level provider files and
// openai/ (xAI composes the OpenAI mapping), but no other provider folder.
//
// Every rule names the importing side in `from` and lists what it may import in `to.pathNot`, so a
// folder nobody has placed in a layer yet is refused on both sides (rule `unlayered-folder`).
//
// The package is "type": "module", hence .cjs.

/** Folders of src/ that belong to a layer (root files and standalone/ are handled separately). */
const LAYERED = ['common', 'errors', 'session-config', 'redis', 'health', 'logging', 'providers', 'auth', 'http', 'metrics', 'openapi', 'tickets', 'live-sessions', 'issuance', 'gateway', 'standalone'];

/** Provider infrastructure that every provider folder may use. */
const PROVIDER_CORE = ['core'];
/** The one list of built-in providers: the only top-level providers/ file that imports provider folders. */
const PROVIDER_LIST = 'src/providers/built-in-providers.ts';

/** `^src/(a|b|…)/`: any file inside one of the given src folders. */
const inFolders = (...folders) => `^src/(${folders.join('|')})/`;

/** A rule: files under `from` may import, inside src/, only `allowed` (their own folder included). */
const layer = (name, comment, from, allowed) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: '^src/', pathNot: allowed },
});

module.exports = {
  forbidden: [
    // ---- layer 1 -------------------------------------------------------------------------------
    layer(
      'common-imports-nothing-of-ours',
      'common/ is the bottom layer: it imports nothing from src/ outside itself (only node and npm packages).',
      inFolders('common'),
      inFolders('common'),
    ),
    layer(
      'errors-only-imports-common',
      'errors/ (layer 1) may import common/ only; everything else is above it.',
      inFolders('errors'),
      inFolders('errors', 'common'),
    ),
    // ---- layer 2 -------------------------------------------------------------------------------
    layer(
      'session-config-only-imports-layer-1',
      'session-config/ (layer 2) may import common/ and errors/ (layer 1), not redis/ or anything above.',
      inFolders('session-config'),
      inFolders('session-config', 'common', 'errors'),
    ),
    layer(
      'redis-only-imports-layer-1',
      'redis/ (layer 2) may import common/ and errors/ (layer 1), not session-config/ or anything above.',
      inFolders('redis'),
      inFolders('redis', 'common', 'errors'),
    ),
    layer(
      'health-only-imports-layer-1',
      'health/ (layer 2: liveness, readiness checks, drain state) may import common/ and errors/ (layer 1); the stores it checks register themselves from above.',
      inFolders('health'),
      inFolders('health', 'common', 'errors'),
    ),
    layer(
      'logging-only-imports-layer-1',
      'logging/ (layer 2: redaction, request ids, the log lines) may import common/ and errors/ (layer 1).',
      inFolders('logging'),
      inFolders('logging', 'common', 'errors'),
    ),
    // ---- layer 3 -------------------------------------------------------------------------------
    layer(
      'providers-only-import-layers-1-2',
      'providers/ (layer 3) may import layers 1–2 (common, errors, session-config, redis, health, logging), not its layer-3 siblings or anything above.',
      inFolders('providers'),
      inFolders('providers', 'common', 'errors', 'session-config', 'redis', 'health', 'logging'),
    ),
    layer(
      'auth-only-imports-layers-1-2',
      'auth/ (layer 3) may import layers 1–2 (common, errors, session-config, redis, health, logging), not its layer-3 siblings or anything above.',
      inFolders('auth'),
      inFolders('auth', 'common', 'errors', 'session-config', 'redis', 'health', 'logging'),
    ),
    layer(
      'http-only-imports-layer-1',
      'http/ (layer 3) may import layer 1 (common, errors) only.',
      inFolders('http'),
      inFolders('http', 'common', 'errors'),
    ),
    layer(
      'metrics-only-imports-layers-1-2',
      'metrics/ (layer 3) may import layers 1–2; model and provider label bounds are handed in from above, not imported.',
      inFolders('metrics'),
      inFolders('metrics', 'common', 'errors', 'session-config', 'redis', 'health', 'logging'),
    ),
    layer(
      'openapi-only-imports-layers-1-2',
      'openapi/ (layer 3: the mint route\'s OpenAPI classes and decorators) may import layers 1–2 (the DTOs live in session-config/).',
      inFolders('openapi'),
      inFolders('openapi', 'common', 'errors', 'session-config', 'redis', 'health', 'logging'),
    ),
    // ---- layer 4 -------------------------------------------------------------------------------
    layer(
      'tickets-only-import-layers-1-3',
      'tickets/ (layer 4) may import layers 1–3, not issuance/, gateway/ or anything above.',
      inFolders('tickets'),
      inFolders('tickets', 'common', 'errors', 'session-config', 'redis', 'health', 'logging', 'providers', 'auth', 'http', 'metrics', 'openapi'),
    ),
    layer(
      'live-sessions-only-import-layers-1-3',
      'live-sessions/ (layer 4) may import layers 1–3, not tickets/ (its sibling), issuance/, gateway/ or anything above.',
      inFolders('live-sessions'),
      inFolders('live-sessions', 'common', 'errors', 'session-config', 'redis', 'health', 'logging', 'providers', 'auth', 'http', 'metrics', 'openapi'),
    ),
    // ---- layer 5 -------------------------------------------------------------------------------
    layer(
      'issuance-only-imports-layers-1-4',
      'issuance/ (layer 5) may import layers 1–4, not gateway/ (its sibling) or anything above.',
      inFolders('issuance'),
      inFolders('issuance', 'common', 'errors', 'session-config', 'redis', 'health', 'logging', 'providers', 'auth', 'http', 'metrics', 'openapi', 'tickets', 'live-sessions'),
    ),
    layer(
      'gateway-only-imports-layers-1-4',
      'gateway/ (layer 5) may import layers 1–4, not issuance/ (its sibling) or anything above.',
      inFolders('gateway'),
      inFolders('gateway', 'common', 'errors', 'session-config', 'redis', 'health', 'logging', 'providers', 'auth', 'http', 'metrics', 'openapi', 'tickets', 'live-sessions'),
    ),
    // ---- layer 6 -------------------------------------------------------------------------------
    layer(
      'root-files-do-not-import-standalone',
      'The root files src/*.ts (layer 6: module, options, module-definition, index) may import layers 1–5 and each other, not standalone/.',
      '^src/[^/]+$',
      `^src/[^/]+$|${inFolders(...LAYERED.filter((f) => f !== 'standalone'))}`,
    ),
    // ---- layer 7 -------------------------------------------------------------------------------
    {
      name: 'nothing-imports-standalone',
      comment: 'standalone/ (layer 7) is the runnable app on top of the module: it may import everything, nothing in src/ outside it imports it.',
      severity: 'error',
      from: { path: '^src/', pathNot: inFolders('standalone') },
      to: { path: inFolders('standalone') },
    },
    // ---- folders in no layer -------------------------------------------------------------------
    {
      name: 'unlayered-folder',
      comment: 'Every folder of src/ belongs to a layer. A new folder must be added to .dependency-cruiser.cjs before it imports anything of ours.',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: inFolders(...LAYERED) },
      to: { path: '^src/' },
    },
    // ---- inside providers/ ---------------------------------------------------------------------
    {
      name: 'provider-core-imports-no-provider',
      comment: `providers/core/ and the top-level providers/*.ts files are below every provider folder: they may not import providers/<name>/ (only ${PROVIDER_CORE.join('/, ')}/ and each other). The exception is the plugin list, ${PROVIDER_LIST}, which names the built-in providers.`,
      severity: 'error',
      from: { path: `^src/providers/([^/]+$|(${PROVIDER_CORE.join('|')})/)`, pathNot: `^${PROVIDER_LIST.replace(/\./g, '\\.')}$` },
      to: { path: '^src/providers/[^/]+/', pathNot: inFolders(...PROVIDER_CORE.map((f) => `providers/${f}`)) },
    },
    {
      name: 'provider-imports-no-other-provider',
      comment: 'A provider folder providers/<name>/ may import its own files, providers/core/, the top-level providers/*.ts files and providers/openai/ (xAI composes the OpenAI mapping), never another provider folder.',
      severity: 'error',
      from: { path: '^src/providers/([^/]+)/', pathNot: inFolders(...PROVIDER_CORE.map((f) => `providers/${f}`)) },
      to: { path: '^src/providers/[^/]+/', pathNot: `^src/providers/($1|${[...PROVIDER_CORE, 'openai'].join('|')})/` },
    },
    // ---- cycles --------------------------------------------------------------------------------
    {
      name: 'no-circular',
      comment: 'No import cycles inside src/: a cycle makes load order matter and hides which side owns a concept.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    // Only our sources are checked; npm packages are leaves.
    doNotFollow: { path: 'node_modules' },
    // dependency-cruiser 16 supports TypeScript < 6 as a transpiler, and this project pins 6.0.3, so
    // it would fall back to a loose JavaScript parse that misses some `export … from` edges. swc
    // (@swc/core, already a devDependency for jest) parses the TypeScript sources exactly, and it
    // keeps type-only imports: a layer may not name a higher layer's types either.
    parser: 'swc',
    // The project's compiler options (paths, if it ever gets any). The `./x.js` specifiers of the
    // sources resolve to their `./x.ts` files through dependency-cruiser's own .js → .ts fallback;
    // layers.spec.ts checks known edges, so a resolution that silently finds nothing fails there.
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

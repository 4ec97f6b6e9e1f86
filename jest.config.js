// Jest runs the TypeScript sources as native ESM through @swc/jest (see docs/toolchain.md).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'es6' },
      },
    ],
  },
  testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  // The soak (test/abuse/soak.e2e-spec.ts) compares the process's heap and RSS before and after, so it
  // runs in a jest process of its own: `npm run soak` (60 s; SOAK_SECONDS sets it), and for 10 s as
  // its own step in .ci/run. Inside `npm test` it would share a worker whose heap other files grew.
  testPathIgnorePatterns: process.env.SOAK_SECONDS ? ['/node_modules/'] : ['/node_modules/', '<rootDir>/test/abuse/soak\\.'],
  testTimeout: 30000,
};

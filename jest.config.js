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
  // The soak (200 concurrent sessions with faults) runs through `npm run soak`, which sets
  // SOAK_SECONDS; it is not part of `npm test` until its heap/RSS bound holds (see README, Security).
  testPathIgnorePatterns: process.env.SOAK_SECONDS ? ['/node_modules/'] : ['/node_modules/', '<rootDir>/test/abuse/soak\\.'],
  testTimeout: 30000,
};

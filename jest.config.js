/**
 * Jest runs TypeScript as native ESM through ts-jest (PGlite needs --experimental-vm-modules).
 * `*.pg.test.ts` files test what only a PostgreSQL server shows; they run in the PostgreSQL pass
 * (QUIRE_TEST_DATABASE_URL set, see scripts/test-postgres.sh) and nowhere else.
 */
const onPostgres = Boolean(process.env.QUIRE_TEST_DATABASE_URL);

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: './tsconfig.base.json' }],
  },
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/services/*/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: onPostgres ? ['/node_modules/'] : ['/node_modules/', '\\.pg\\.test\\.ts$'],
  testTimeout: 60000,
  maxWorkers: 2,
};

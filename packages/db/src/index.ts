export * from './db.js';
export * from './pglite-db.js';
export { DataDirInUseError } from './data-dir-lock.js';
export * from './postgres-db.js';
export * from './migrate.js';
export * from './open-database.js';
export * from './test-database.js';
export { openPostgresTestDatabase, type PostgresTestDatabase } from './postgres-test-database.js';
export * from './lock-waiters.js';

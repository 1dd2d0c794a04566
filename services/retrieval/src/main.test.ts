import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Redis } from 'ioredis';
import { loadMigrations, openPGlite, startSocketTestDatabase } from '@quire/db';
import { exitWithin, startServiceProcess } from '@quire/fakes';

/**
 * services/retrieval/src/main.ts as docker-compose runs it: without DATABASE_URL it refuses to start
 * (alone, an embedded database would be an empty one of its own), a bad setting exits 2 with one log
 * line, and a start that fails exits 1 with the failure logged, never a raw stack trace.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function runRetrieval(env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  const child = startServiceProcess(ROOT, 'services/retrieval/src/main.ts', {
    QUIRE_LOG_LEVEL: 'info',
    QUIRE_INTERNAL_SECRET: 'retrieval-main-test-secret-0123456789', QUIRE_GATEWAY_URL: 'http://127.0.0.1:9', RETRIEVAL_HOST: '127.0.0.1', RETRIEVAL_PORT: '0',
    ...env,
  });
  // Never expected to start: one that does is killed, so the test fails instead of hanging.
  const code = await exitWithin(child, 30_000);
  if (code !== 'still running') return { code, lines: child.lines };
  child.process.kill('SIGKILL');
  await child.exited;
  return { code: null, lines: child.lines };
}

const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('without DATABASE_URL it exits 2 and says what it needs', async () => {
  const { code, lines } = await runRetrieval({});
  expect(code).toBe(2);
  expect(parsed(lines)).toEqual([expect.objectContaining({ level: 'error', msg: 'invalid configuration', reason: expect.stringContaining('DATABASE_URL is required') })]);
});

test('a bad setting exits 2 with one log line', async () => {
  const { code, lines } = await runRetrieval({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/quire', RETRIEVAL_PORT: 'eighty-two' });
  expect(code).toBe(2);
  expect(parsed(lines)).toEqual([expect.objectContaining({ msg: 'invalid configuration', reason: expect.stringContaining('RETRIEVAL_PORT') })]);
});

test('a database it cannot reach exits 1 with the failure logged', async () => {
  const { code, lines } = await runRetrieval({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/quire' });
  expect(code).toBe(1);
  expect(parsed(lines).at(-1)).toMatchObject({ level: 'error', msg: 'retrieval failed to start', err: expect.stringContaining('ECONNREFUSED') });
});

test('an internal secret shorter than the gateway accepts exits 2', async () => {
  const { code, lines } = await runRetrieval({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/quire', QUIRE_INTERNAL_SECRET: 'twenty-chars-secret!' });
  expect(code).toBe(2);
  expect(parsed(lines)).toEqual([expect.objectContaining({ msg: 'invalid configuration', reason: expect.stringContaining('at least 32 characters') })]);
});

test('a benchmark queue name BullMQ would refuse exits 2 naming RETRIEVAL_BENCHMARK_QUEUE', async () => {
  const { code, lines } = await runRetrieval({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/quire', RETRIEVAL_BENCHMARK_QUEUE: 'acme:benchmarks' });
  expect(code).toBe(2);
  expect(parsed(lines)).toEqual([expect.objectContaining({ msg: 'invalid configuration', reason: expect.stringContaining('RETRIEVAL_BENCHMARK_QUEUE') })]);
});

test('a QUIRE_QUERY_RETENTION_DAYS that is not a whole number of days exits 2 naming it', async () => {
  const { code, lines } = await runRetrieval({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/quire', QUIRE_QUERY_RETENTION_DAYS: '30d' });
  expect(code).toBe(2);
  expect(parsed(lines)).toEqual([expect.objectContaining({ msg: 'invalid configuration', reason: expect.stringContaining('QUIRE_QUERY_RETENTION_DAYS') })]);
});

test('the first start on an empty database logs the migrations it applied, in one line; a later start logs none', async () => {
  // An empty (unmigrated) database that the child process reaches over the wire.
  const db = await openPGlite();
  const server = new PGLiteSocketServer({ db: db.raw, host: '127.0.0.1', port: 0, maxConnections: 8 });
  await server.start();
  const env = {
    QUIRE_LOG_LEVEL: 'info', DATABASE_URL: `postgres://postgres@${server.getServerConn()}/postgres`,
    QUIRE_INTERNAL_SECRET: 'retrieval-main-test-secret-0123456789', QUIRE_GATEWAY_URL: 'http://127.0.0.1:9', RETRIEVAL_HOST: '127.0.0.1', RETRIEVAL_PORT: '0',
  };
  const startAndStop = async (): Promise<Record<string, unknown>[]> => {
    const child = startServiceProcess(ROOT, 'services/retrieval/src/main.ts', env);
    try {
      await child.waitFor(/"retrieval listening"/, 60_000);
    } finally {
      child.process.kill('SIGTERM');
    }
    expect(await child.exited).toBe(0);
    return parsed(child.lines);
  };
  try {
    const first = await startAndStop();
    expect(first.filter((l) => l.msg === 'migrations applied')).toEqual([
      expect.objectContaining({ level: 'info', migrations: loadMigrations().map((m) => m.name) }),
    ]);
    const second = await startAndStop();
    expect(second.some((l) => l.msg === 'migrations applied')).toBe(false);
  } finally {
    await server.stop();
    await db.close();
  }
}, 120_000);

test('RETRIEVAL_BENCHMARK_QUEUE names the BullMQ queue benchmark runs go to, so deployments sharing a Redis can be kept apart', async () => {
  const database = await startSocketTestDatabase(8);
  const queue = `quire-test-benchmarks-${randomUUID()}`;
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const child = startServiceProcess(ROOT, 'services/retrieval/src/main.ts', {
    QUIRE_LOG_LEVEL: 'info', DATABASE_URL: database.url, REDIS_URL: 'redis://127.0.0.1:6379', RETRIEVAL_BENCHMARK_QUEUE: queue,
    QUIRE_INTERNAL_SECRET: 'retrieval-main-test-secret-0123456789', QUIRE_GATEWAY_URL: 'http://127.0.0.1:9', RETRIEVAL_HOST: '127.0.0.1', RETRIEVAL_PORT: '0',
  });
  try {
    await child.waitFor(/"retrieval listening"/, 60_000);
    // The worker records its queue's metadata under BullMQ's key prefix.
    const deadline = Date.now() + 15_000;
    while ((await redis.exists(`bull:${queue}:meta`)) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await redis.exists(`bull:${queue}:meta`)).toBe(1);
  } finally {
    child.process.kill('SIGTERM');
    await child.exited;
    const keys = await redis.keys(`bull:${queue}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await database.stop();
  }
}, 120_000);

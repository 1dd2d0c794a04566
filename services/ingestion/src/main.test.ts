import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HEADERS } from '@quire/contracts';
import { startSocketTestDatabase, type SocketTestDatabase } from '@quire/db';
import { exitWithin, startCuttableProxy, startServiceProcess, testRedisTarget, type ServiceProcess } from '@quire/fakes';
import { signIdentity } from '@quire/server-kit';
import { TEAM_A, TEST_SECRET } from './testing/http.js';

/**
 * services/ingestion/src/main.ts as docker-compose runs it: a bad setting exits 2, a stop with Redis
 * gone still ends (bounded), and a second signal ends a stop that is still waiting.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REDIS = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const queueName = `ingestion-main-${randomUUID()}`;
let database: SocketTestDatabase;
const children: ChildProcess[] = [];

function startIngestion(env: Record<string, string>): ServiceProcess {
  const child = startServiceProcess(ROOT, 'services/ingestion/src/main.ts', {
    QUIRE_LOG_LEVEL: 'info',
    DATABASE_URL: database.url, QUIRE_INTERNAL_SECRET: TEST_SECRET, INGESTION_HOST: '127.0.0.1', INGESTION_PORT: '0', INGESTION_QUEUE: queueName,
    ...env,
  });
  children.push(child.process);
  return child;
}

const urlOf = (line: string) => (JSON.parse(line) as { url: string }).url;

beforeAll(async () => {
  database = await startSocketTestDatabase();
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await database?.stop();
  const connection = new Redis(REDIS.toString(), { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
});

test('a DATABASE_URL that is not a URL exits 2 with one clear log line', async () => {
  const child = startIngestion({ DATABASE_URL: 'quire database please' });
  expect(await child.exited).toBe(2);
  expect(child.lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
    expect.objectContaining({ level: 'error', msg: 'invalid configuration', reason: expect.stringContaining('DATABASE_URL must be a URL') }),
  ]);
});

test('with Redis gone, /readyz answers 503 at once and SIGTERM still ends the process', async () => {
  // Redis reached through a proxy this test cuts, as when the Redis container stops.
  const proxy = await startCuttableProxy(testRedisTarget());
  const child = startIngestion({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
  const url = urlOf(await child.waitFor(/"ingestion listening"/));
  for (let i = 0; i < 100 && (await fetch(`${url}/readyz`)).status !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  expect((await fetch(`${url}/readyz`)).status).toBe(200);

  await proxy.cut();
  await new Promise((resolve) => setTimeout(resolve, 1_000));

  const t0 = Date.now();
  expect((await fetch(`${url}/readyz`)).status).toBe(503);
  expect(Date.now() - t0).toBeLessThan(1_500);
  child.process.kill('SIGTERM');
  expect(await exitWithin(child, 15_000)).toBe(0);
  expect(child.lines.filter((l) => !l.startsWith('{'))).toEqual([]);
}, 60_000);

test('a second signal ends a stop that is still draining, at once', async () => {
  const child = startIngestion({ QUIRE_SHUTDOWN_DRAIN_MS: '60000' });
  const { port } = new URL(urlOf(await child.waitFor(/"ingestion listening"/)));
  // A request whose body never finishes arriving: the drain waits for it.
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST /v1/collections HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n${HEADERS.identity}: ${signIdentity(TEAM_A, TEST_SECRET)}\r\n\r\n{"name":`,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  child.process.kill('SIGTERM');
  await child.waitFor(/"shutting down"/);
  expect(await exitWithin(child, 500)).toBe('still running');
  child.process.kill('SIGTERM');
  expect(await exitWithin(child, 3_000)).toBe(1);
  socket.destroy();
}, 60_000);

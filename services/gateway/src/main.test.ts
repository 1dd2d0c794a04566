import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { openPostgres, startSocketTestDatabase, type Db, type SocketTestDatabase } from '@quire/db';
import { startFakeOpenAI, startServiceProcess, type FakeOpenAI, type ServiceProcess } from '@quire/fakes';
import { ADMIN_AUTH, TEST_ADMIN_KEY } from './testing/gateway-harness.js';

/**
 * services/gateway/src/main.ts as docker-compose runs it: a bad setting exits 2 with one log line,
 * a start that fails exits 1 with one, and SIGTERM lets a call in flight finish and meter itself.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let database: SocketTestDatabase;
let reader: Db;
let slow: FakeOpenAI;
const children: ChildProcess[] = [];

function startGateway(env: Record<string, string>): ServiceProcess {
  const child = startServiceProcess(ROOT, 'services/gateway/src/main.ts', {
    QUIRE_LOG_LEVEL: 'info',
    DATABASE_URL: database.url, QUIRE_INTERNAL_SECRET: 'main-test-secret-main-test-secret-0123',
    QUIRE_INGESTION_URL: 'http://127.0.0.1:9', QUIRE_RETRIEVAL_URL: 'http://127.0.0.1:9', QUIRE_HOST: '127.0.0.1', QUIRE_PORT: '0',
    OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: slow.url, QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai', QUIRE_ADMIN_KEY: TEST_ADMIN_KEY,
    ...env,
  });
  children.push(child.process);
  return child;
}

const jsonLines = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: string; msg: string; reason?: string; err?: string; url?: string });

beforeAll(async () => {
  database = await startSocketTestDatabase();
  reader = openPostgres(database.url, { max: 1 });
  slow = await startFakeOpenAI({ apiKey: 'sk-test', latencyMs: 2_000, reply: () => 'the whole slow answer' });
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await reader?.close();
  await slow?.close();
  await database?.stop();
});

test('a bad setting exits 2 with one clear log line and no stack trace', async () => {
  const child = startGateway({ QUIRE_PORT: 'eighty' });
  expect(await child.exited).toBe(2);
  const logged = jsonLines(child.lines);
  expect(logged).toEqual([expect.objectContaining({ level: 'error', msg: 'invalid configuration', reason: expect.stringContaining('QUIRE_PORT') })]);

  const missing = startGateway({ DATABASE_URL: '' });
  expect(await missing.exited).toBe(2);
  expect(jsonLines(missing.lines)).toEqual([expect.objectContaining({ msg: 'invalid configuration', reason: expect.stringContaining('DATABASE_URL') })]);
});

test('a database it cannot reach, or a port in use, exits 1 with the failure logged', async () => {
  const unreachable = startGateway({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/quire' });
  expect(await unreachable.exited).toBe(1);
  expect(jsonLines(unreachable.lines).at(-1)).toMatchObject({ level: 'error', msg: 'gateway failed to start', err: expect.stringContaining('ECONNREFUSED') });

  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const child = startGateway({ QUIRE_PORT: String((taken.address() as net.AddressInfo).port) });
    expect(await child.exited).toBe(1);
    expect(jsonLines(child.lines).at(-1)).toMatchObject({ level: 'error', msg: 'gateway failed to start', err: expect.stringContaining('EADDRINUSE') });
  } finally {
    taken.close();
  }
}, 60_000);

test('SIGTERM during a slow model call: the call gets its whole answer, its ledger row is written, and the process exits 0', async () => {
  const child = startGateway({});
  const url = jsonLines([await child.waitFor(/"gateway listening"/)])[0]!.url!;
  const traceId = `main-stop-${Date.now()}`;
  const requestsBefore = slow.requests.length;
  const answer = fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': traceId, ...ADMIN_AUTH },
    body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }),
  });
  for (let i = 0; i < 500 && slow.requests.length === requestsBefore; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  child.process.kill('SIGTERM');

  const res = await answer;
  expect(res.status).toBe(200);
  expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('the whole slow answer');
  expect(await child.exited).toBe(0);
  const rows = await reader.query<{ status: string; model: string }>('SELECT status, model FROM usage_ledger WHERE trace_id = $1', [traceId]);
  expect(rows.rows).toEqual([{ status: 'ok', model: 'gpt-4o-mini' }]);
}, 60_000);

test('with Redis unreachable, /readyz answers 503 at once and the errors are logged, not printed raw', async () => {
  const child = startGateway({ REDIS_URL: 'redis://127.0.0.1:1' });
  const url = jsonLines([await child.waitFor(/"gateway listening"/)])[0]!.url!;
  // Long enough for ioredis to try reconnecting several times.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const t0 = Date.now();
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(503);
  expect(Date.now() - t0).toBeLessThan(1_000);
  expect(((await ready.json()) as { reason: string }).reason).toMatch(/Redis/);
  child.process.kill('SIGTERM');
  expect(await child.exited).toBe(0);
  expect(child.lines.filter((l) => l.includes('Unhandled error event'))).toEqual([]);
  // Every line is the logger's JSON, and the outage is one line, not one per reconnect attempt.
  const redisErrors = jsonLines(child.lines).filter((l) => l.msg.includes('redis connection error'));
  expect(redisErrors).toHaveLength(1);
}, 60_000);

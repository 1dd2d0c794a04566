import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { startCuttableProxy, testRedisTarget } from '@quire/fakes';
import { createLogger, type Logger } from '@quire/server-kit';
import { createBullmqQueue, type BullmqQueueOptions } from './bullmq-queue.js';
import type { JobDefinition, JobQueue } from './job-queue.js';
import { redisErrorLog, settlesWithin } from './redis-health.js';

/**
 * Redis going away under a running queue. The queue reaches the real Redis through a TCP proxy the
 * test cuts: connections dropped, the port refusing new ones, as when the Redis container stops.
 */
const REDIS_URL = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const Payload = z.object({ id: z.string() });
const job: JobDefinition<typeof Payload> = { name: 'outage-test', version: 1, payloadSchema: Payload, jobId: (p) => `job-${p.id}` };

interface Proxy {
  url: string;
  cut(): Promise<void>;
}

async function startProxy(): Promise<Proxy> {
  const proxy = await startCuttableProxy(testRedisTarget());
  return { url: `redis://127.0.0.1:${proxy.port}`, cut: proxy.cut };
}

type Line = { level: string; msg: string; fields: Record<string, unknown> | undefined };
function capturing(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const push = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  return { logger: { ...createLogger({ test: 'outage' }, 'error'), warn: push('warn'), error: push('error'), info: push('info') }, lines };
}

const queueNames: string[] = [];
const open: JobQueue<{ id: string }>[] = [];
let stderrLines: string[];
const realConsoleError = console.error;

function queueThrough(url: string, logger: Logger, extra: Partial<BullmqQueueOptions> = {}): JobQueue<{ id: string }> {
  const queueName = `outage-test-${randomUUID()}`;
  queueNames.push(queueName);
  const queue = createBullmqQueue(job, { redisUrl: url, queueName, concurrency: 1, retry: { attempts: 3, baseDelayMs: 5 }, logger, ...extra });
  open.push(queue);
  return queue;
}

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeEach(() => {
  stderrLines = [];
  // ioredis prints `[ioredis] Unhandled error event` through console.error for a client without an 'error' listener.
  console.error = (...args: unknown[]) => void stderrLines.push(args.map(String).join(' '));
});
afterEach(async () => {
  console.error = realConsoleError;
  await Promise.all(open.splice(0).map((q) => q.stop()));
});
afterAll(async () => {
  const connection = new Redis(REDIS_URL.toString(), { maxRetriesPerRequest: null });
  for (const name of queueNames) {
    const q = new Queue(name, { connection });
    await q.obliterate({ force: true });
    await q.close();
  }
  await connection.quit();
});

test('with Redis gone, enqueue and ping fail fast, stop() ends soon, and the errors are logged once', async () => {
  const proxy = await startProxy();
  const { logger, lines } = capturing();
  const queue = queueThrough(proxy.url, logger);
  const ran: string[] = [];
  await queue.start(async (p) => void ran.push(p.id));
  await queue.enqueue({ id: 'before' });
  await until(() => ran.includes('before'));
  await queue.ping();

  await proxy.cut();
  await until(() => queue.ping().then(() => false, () => true));
  // Long enough for ioredis to try reconnecting several times.
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  let t0 = Date.now();
  await expect(queue.enqueue({ id: 'during' })).rejects.toMatchObject({ code: 'service_unavailable' });
  expect(Date.now() - t0).toBeLessThan(500);
  t0 = Date.now();
  await expect(queue.ping()).rejects.toMatchObject({ code: 'service_unavailable' });
  expect(Date.now() - t0).toBeLessThan(500);

  t0 = Date.now();
  expect(await settlesWithin(queue.stop(), 4_000)).toBe(true);
  expect(Date.now() - t0).toBeLessThan(4_000);

  expect(stderrLines.filter((l) => l.includes('Unhandled error event'))).toEqual([]);
  // One line per client group for the whole outage, not one per reconnect attempt.
  const errorLines = lines.filter((l) => l.msg.endsWith('error'));
  expect(errorLines.length).toBeGreaterThan(0);
  expect(errorLines.length).toBeLessThanOrEqual(2);
});

test('with Redis there from the start but never answering, enqueue gives up at its deadline', async () => {
  // A port that accepts connections and never speaks: ioredis waits for a first "ready" that never comes.
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  try {
    const queue = queueThrough(`redis://127.0.0.1:${port}`, capturing().logger, { commandTimeoutMs: 300, pingTimeoutMs: 300 });
    const t0 = Date.now();
    await expect(queue.enqueue({ id: 'x' })).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(Date.now() - t0).toBeLessThan(1_500);
    await expect(queue.ping()).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(await settlesWithin(queue.stop(), 3_000)).toBe(true);
  } finally {
    open.length = 0;
    silent.close();
  }
});

test('a job still running at the stop deadline does not hold stop() up', async () => {
  const { logger, lines } = capturing();
  const queue = queueThrough(REDIS_URL.toString(), logger, { stopTimeoutMs: 300 });
  let entered = false;
  await queue.start(async () => {
    entered = true;
    await new Promise(() => undefined); // never settles
  });
  await queue.enqueue({ id: 'stuck' });
  await until(() => entered);
  const t0 = Date.now();
  expect(await settlesWithin(queue.stop(), 3_000)).toBe(true);
  expect(Date.now() - t0).toBeLessThan(3_000);
  expect(lines.map((l) => l.msg)).toContain('running jobs did not finish in time: disconnecting the queue worker; their locks lapse and they run again');
});

test('the error log says the first error at once, then at most once per interval, and says when the connection is back', () => {
  const { logger, lines } = capturing();
  const log = redisErrorLog(logger, 'redis error', { client: 'x' }, 60_000);
  const emitter = new EventEmitter();
  log.watch(emitter);
  for (let i = 0; i < 5; i++) emitter.emit('error', new Error('connect ECONNREFUSED'));
  emitter.emit('ready');
  emitter.emit('error', new Error('connect ECONNREFUSED'));
  expect(lines).toEqual([
    { level: 'warn', msg: 'redis error', fields: { client: 'x', err: 'connect ECONNREFUSED' } },
    { level: 'info', msg: 'redis connection restored', fields: { client: 'x' } },
    { level: 'warn', msg: 'redis error', fields: { client: 'x', err: 'connect ECONNREFUSED' } },
  ]);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPostgres, openTestDatabase, type PostgresTestDatabase } from '@quire/db';
import { freePort, startFakeOpenAI } from '@quire/fakes';
import { citingReply, E2E_ADMIN_KEY, TEST_PRICES, type Harness } from './quire-harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Starts `services/<name>/src/main.ts` as docker-compose does and resolves with the URL it logs. */
function startService(name: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, `services/${name}/src/main.ts`)], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', QUIRE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s: ${out.slice(-2000)}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = new RegExp(`"msg":"${name} listening"[^\\n]*"url":"([^"]+)"`).exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening: ${out.slice(-2000)}`));
    });
  });
}

/**
 * Quire as docker-compose runs it: the gateway, ingestion and retrieval each in its own process (their
 * `main.ts`), sharing a PostgreSQL database with pgvector and Redis, configured only by environment.
 */
export async function startDistributedHarness(): Promise<Harness> {
  const openai = await startFakeOpenAI({ apiKey: 'sk-e2e', reply: citingReply, dimensions: 64 });
  const database = (await openTestDatabase()) as PostgresTestDatabase;
  const pricing = Object.fromEntries(Object.entries(TEST_PRICES).map(([k, v]) => [k, { ...v, asOf: 'test', source: 'test' }]));
  const gatewayPort = await freePort();
  const common = {
    DATABASE_URL: database.connectionString,
    REDIS_URL: 'redis://127.0.0.1:6379',
    QUIRE_INTERNAL_SECRET: `e2e-${randomUUID()}`,
    QUIRE_GATEWAY_URL: `http://127.0.0.1:${gatewayPort}`,
  };
  const children: ChildProcess[] = [];
  try {
    const ingestion = await startService('ingestion', { ...common, INGESTION_HOST: '127.0.0.1', INGESTION_PORT: '0', INGESTION_QUEUE: `e2e-${randomUUID()}` });
    children.push(ingestion.child);
    const retrieval = await startService('retrieval', { ...common, RETRIEVAL_HOST: '127.0.0.1', RETRIEVAL_PORT: '0' });
    children.push(retrieval.child);
    const gateway = await startService('gateway', {
      ...common,
      QUIRE_HOST: '127.0.0.1',
      QUIRE_PORT: String(gatewayPort),
      QUIRE_INGESTION_URL: ingestion.url,
      QUIRE_RETRIEVAL_URL: retrieval.url,
      OPENAI_API_KEY: 'sk-e2e',
      OPENAI_BASE_URL: openai.url,
      QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai',
      QUIRE_PRICING_JSON: JSON.stringify(pricing),
      QUIRE_ADMIN_KEY: E2E_ADMIN_KEY,
    });
    children.push(gateway.child);
    // The test reads the ledger through its own pool; the services keep theirs.
    const db = openPostgres(database.connectionString, { max: 2 });
    return {
      quire: { url: gateway.url, db, stop: async () => undefined },
      openai,
      async stop() {
        await Promise.all(children.map((child) => stopChild(child)));
        await db.close();
        await openai.close();
        await database.close();
      },
    };
  } catch (error) {
    children.forEach((child) => child.kill('SIGKILL'));
    await openai.close();
    await database.close();
    throw error;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

import { randomUUID } from 'node:crypto';
import type { Db } from '@quire/db';
import { importBeir, QuireEvalClient } from '@quire/eval';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { createLogger } from '@quire/server-kit';
import { startQuire, type RunningQuire } from '../../scripts/start-quire.js';
import { E2E_ADMIN_KEY, TEST_PRICES } from '../e2e/quire-harness.js';
import { generateBeirSet } from './beir-fixture.js';

/** The fake model: judge prompts get a verdict, answer prompts cite their first source. */
export function evalReply(body: { messages: { role: string; content: unknown }[] }): string {
  const text = body.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
  if (text.includes('You grade answers')) return '{"correctness": 1, "faithfulness": 0.5, "reason": "close enough"}';
  if (text.includes('You write evaluation questions')) {
    const passage = text.split('PASSAGE:\n')[1] ?? '';
    const words = passage.split(/\s+/).filter(Boolean);
    return `Here you go: {"question": "What does the report say about ${words.slice(0, 4).join(' ')}?", "answer": "${words.slice(0, 8).join(' ').replace(/"/g, '')}"}`;
  }
  const m = text.match(/<source id="(\d+)"[^>]*>\s*([^\n]{0,80})/);
  return m ? `The report says ${m[2]!.split(' ').slice(0, 6).join(' ')} [${m[1]}].` : 'The sources do not say.';
}

/** Tests read the API's answers loosely (they assert on them); the CLI and benches use `call`'s schemas. */
export class TestEvalClient extends QuireEvalClient {
  override request(method: string, path: string, body?: unknown): Promise<any> {
    return super.request(method, path, body);
  }

  override waitForBenchmark(id: string, options?: Parameters<QuireEvalClient['waitForBenchmark']>[1]): Promise<any> {
    return super.waitForBenchmark(id, options);
  }
}

/** `redisUrl`: jobs (ingestion and benchmark runs) on BullMQ; Quires given the same `queueName` share its queues. */
export async function startEvalQuire(db: Db, openai: FakeOpenAI, options: { redisUrl?: string; queueName?: string } = {}): Promise<{ quire: RunningQuire; client: TestEvalClient }> {
  const pricing = Object.fromEntries(Object.entries(TEST_PRICES).map(([k, v]) => [k, { ...v, asOf: 'test', source: 'test' }]));
  const quire = await startQuire({
    db,
    port: 0,
    queueName: options.queueName ?? `eval-${randomUUID()}`,
    logger: createLogger({ test: 'eval' }, 'error'),
    env: {
      OPENAI_API_KEY: 'sk-e2e', OPENAI_BASE_URL: openai.url, QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai', QUIRE_PRICING_JSON: JSON.stringify(pricing), QUIRE_ADMIN_KEY: E2E_ADMIN_KEY,
      ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    },
  });
  return { quire, client: new TestEvalClient(quire.url, E2E_ADMIN_KEY) };
}

export const startEvalFake = (latencyMs = 0) => startFakeOpenAI({ apiKey: 'sk-e2e', reply: evalReply, dimensions: 64, ...(latencyMs ? { latencyMs } : {}) });

/** A collection with the generated BEIR-style set imported (corpus through the ingestion API). */
export async function seedCollection(client: TestEvalClient, options: { docs?: number; queries?: number } = {}) {
  const collection = await client.request('POST', '/v1/collections', {
    name: `eval ${randomUUID().slice(0, 8)}`,
    embedding_model: 'openai/text-embedding-3-small',
    generation_model: 'openai/gpt-4o-mini',
  });
  const set = generateBeirSet(options);
  const evalSet = await importBeir(client, { collectionId: collection.id, name: 'generated beir', ...set });
  return { collection, evalSet, set };
}

export const THREE_CONFIGS = [
  { name: 'vector', mode: 'vector', top_k: 10 },
  { name: 'keyword', mode: 'keyword', top_k: 10 },
  { name: 'hybrid', mode: 'hybrid', top_k: 10 },
];

/** A count from one `SELECT count(*)::int AS n ... $1` statement. */
export const countRows = async (db: Db, sql: string, id: string) => Number((await db.query<{ n: number }>(sql, [id])).rows[0]!.n);

/** Waits until a benchmark has at least `n` result rows (its run is under way). */
export async function waitForResults(db: Db, benchmarkId: string, n: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await countRows(db, `SELECT count(*)::int AS n FROM benchmark_results WHERE benchmark_id = $1`, benchmarkId)) < n) {
    if (Date.now() > deadline) throw new Error('run did not start');
    await new Promise((r) => setTimeout(r, 10));
  }
}

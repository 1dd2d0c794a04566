import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { CANNED_REPLY, startFakeProvider, type FakeProvider } from '../../scripts/fake-provider.js';
import { startQuire, type RunningQuire } from '../../scripts/start-quire.js';
import { AUTH, E2E_ADMIN_KEY } from './quire-harness.js';

/** `pnpm fake-provider` with Quire configured as the README's walk-through configures it. */
let fake: FakeProvider;
let db: Db;
let quire: RunningQuire;
beforeAll(async () => {
  fake = await startFakeProvider({ port: 0 });
  db = await openTestDatabase();
  quire = await startQuire({
    db,
    port: 0,
    logger: createLogger({ test: 'fake-provider' }, 'error'),
    queueName: `fake-provider-${randomUUID()}`,
    env: {
      QUIRE_ADMIN_KEY: E2E_ADMIN_KEY,
      OPENAI_API_KEY: 'sk-local',
      OPENAI_BASE_URL: fake.openai.url,
      QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai',
      TEI_BASE_URL: fake.tei.url,
    },
  });
});
afterAll(async () => {
  await quire?.stop();
  await db?.close();
  await fake?.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${quire.url}${path}`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the fake provider (no API key)', () => {
  it('reranks through Quire as provider tei', async () => {
    const res = await post('/v1/rerank', {
      model: 'tei/rerank',
      query: 'laptop warranty months',
      documents: ['The cafeteria opens at eight.', 'Every laptop has a warranty of 36 months.', 'Parking is free.'],
      top_n: 2,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; results: { index: number; relevance_score: number }[] };
    expect(body.model).toBe('tei/rerank');
    expect(body.results).toHaveLength(2);
    expect(body.results[0]!.index).toBe(1);
    expect(fake.tei.requests.some((r) => r.path === '/rerank')).toBe(true);
  });

  it('answers a plain chat (no sources) with its one canned sentence', async () => {
    const res = await post('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Hello?' }] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(CANNED_REPLY);
  });
});

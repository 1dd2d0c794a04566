import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import type { RunningQuire } from '../../scripts/start-quire.js';
import { DIMENSIONS, GARDEN_NOTES, HARBOUR_GUIDE, seedCollection } from '../../services/retrieval/src/testing/seed.js';
import { E2E_ADMIN_KEY } from '../e2e/quire-harness.js';
import { evalReply, startEvalQuire } from './eval-harness.js';

/**
 * `POST /v1/benchmarks/:id/resume` is open to any knowledge-admin of the collection's team. The
 * resumed cases must run as the caller that resumed them (its key's allow list, budgets and groups),
 * not as the identity stored when the run was created: a run an organisation admin created on team
 * T's collection, resumed by T's knowledge-admin, must not spend as the admin key (team `default`).
 */
describe('benchmark resume identity', () => {
  let db: Db;
  let openai: FakeOpenAI;
  let quire: RunningQuire;

  async function call(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${quire.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  beforeAll(async () => {
    openai = await startFakeOpenAI({ apiKey: 'sk-e2e', reply: evalReply, dimensions: DIMENSIONS });
    db = await openTestDatabase();
    ({ quire } = await startEvalQuire(db, openai));
  }, 120_000);
  afterAll(async () => {
    await quire?.stop();
    await openai?.close();
    await db?.close();
  });

  test('a knowledge-admin resuming an admin-created run calls models as its own key, not the admin\'s', async () => {
    await call(E2E_ADMIN_KEY, 'POST', '/v1/teams', { id: 'rt', name: 'rt' });
    // The knowledge-admin's key may call no embedding model at all.
    const ka = await call(E2E_ADMIN_KEY, 'POST', '/v1/keys', { team_id: 'rt', name: 'rt-ka', role: 'knowledge-admin', allowed_models: ['openai/gpt-4o-mini'] });
    expect(ka.status).toBe(201);
    const seeded = await seedCollection(db, { teamId: 'rt', name: 'rt docs', embeddingModel: 'openai/text-embedding-3-small', generationModel: null, documents: [HARBOUR_GUIDE, GARDEN_NOTES] });
    const set = await call(ka.body.key, 'POST', '/v1/eval-sets', {
      collection_id: seeded.collectionId,
      name: 'rt set',
      cases: [{ question: 'When is high tide at Port Zephyr?', relevant_document_ids: [seeded.documentIds[0]] }],
    });
    expect(set.status).toBe(201);
    // The knowledge-admin's own key cannot embed:
    const own = await call(ka.body.key, 'POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'x' });
    expect(own.status).toBe(403);

    // The organisation admin runs a benchmark on team rt's collection; every case fails (provider outage).
    openai.script.failNext(1000, { status: 400 });
    let id: string;
    try {
      const created = await call(E2E_ADMIN_KEY, 'POST', '/v1/benchmarks', { eval_set_id: set.body.id, configurations: [{ name: 'vec', mode: 'vector' }] });
      expect(created.status).toBe(202);
      id = created.body.id;
      for (const deadline = Date.now() + 60_000; ; ) {
        const b = await call(ka.body.key, 'GET', `/v1/benchmarks/${id}`);
        if (b.body.status === 'failed' || b.body.status === 'completed') break;
        if (Date.now() > deadline) throw new Error('benchmark did not end');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      openai.script.reset();
    }
    const resume = async () => {
      const before = Number((await db.query<{ n: number }>(`SELECT max(id)::bigint AS n FROM usage_ledger`)).rows[0]!.n ?? 0);
      const resumed = await call(ka.body.key, 'POST', `/v1/benchmarks/${id}/resume`, {});
      expect(resumed.status).toBe(202);
      for (const deadline = Date.now() + 60_000; ; ) {
        const b = await call(ka.body.key, 'GET', `/v1/benchmarks/${id}`);
        if (b.body.status === 'completed' || b.body.status === 'failed') break;
        if (Date.now() > deadline) throw new Error('resumed benchmark did not end');
        await new Promise((r) => setTimeout(r, 100));
      }
      return (await db.query<{ team_id: string; key_id: string; model: string; status: string }>(
        `SELECT team_id, key_id, model, status FROM usage_ledger WHERE id > $1 AND purpose = 'query-embed'`, [before],
      )).rows;
    };

    // The knowledge-admin resumes it: its own key's allow list applies, so every case is refused
    // before any model is called, and nothing is spent as the admin key.
    expect(await resume()).toEqual([]);
    const results = await call(ka.body.key, 'GET', `/v1/benchmarks/${id}/results`);
    expect(results.status).toBe(200);
    expect(results.body.data.map((r: { error: string }) => r.error)).toEqual(results.body.data.map(() => "The run's key may not make this call (model_not_allowed)."));

    // Once its key may embed, a resume is billed to it, in team rt.
    const patched = await call(E2E_ADMIN_KEY, 'PATCH', `/v1/keys/${ka.body.id}`, { allowed_models: ['openai/gpt-4o-mini', 'openai/text-embedding-3-small'] });
    expect(patched.status).toBe(200);
    const rows = await resume();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.team_id)).toEqual(rows.map(() => 'rt'));
    expect(rows.map((r) => r.key_id)).toEqual(rows.map(() => ka.body.id));
    expect(rows.map((r) => r.status)).toEqual(rows.map(() => 'ok'));
  }, 180_000);
});

import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import type { RunningQuire } from '../../scripts/start-quire.js';
import { DIMENSIONS, GARDEN_NOTES, HARBOUR_GUIDE, seedCollection } from '../../services/retrieval/src/testing/seed.js';
import { E2E_ADMIN_KEY } from '../e2e/quire-harness.js';
import { evalReply, startEvalQuire } from './eval-harness.js';

/**
 * An organisation admin (role `admin`, team `default`) acts on another team's collection on the
 * owner-only retrieval paths (eval sets, benchmarks, promotion); other teams still meet 404, and
 * members 403, as before. The collection is seeded as ingestion writes it, with a second ready index
 * version over the same chunks.
 */
describe('organisation admins across teams on the evaluation paths', () => {
  let db: Db;
  let openai: FakeOpenAI;
  let quire: RunningQuire;
  let collectionId: string;
  let currentVersion: string;
  let candidateVersion: string;
  let documentIds: string[];
  const keys: Record<'admin' | 'ownerWriter' | 'ownerMember' | 'otherWriter' | 'otherMember', string> = { admin: E2E_ADMIN_KEY, ownerWriter: '', ownerMember: '', otherWriter: '', otherMember: '' };

  async function call(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${quire.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function key(team: string, role: string): Promise<string> {
    await call(E2E_ADMIN_KEY, 'POST', '/v1/teams', { id: team, name: team });
    const r = await call(E2E_ADMIN_KEY, 'POST', '/v1/keys', { team_id: team, name: `${team}-${role}`, role });
    if (r.status !== 201) throw new Error(`key: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.key as string;
  }

  beforeAll(async () => {
    openai = await startFakeOpenAI({ apiKey: 'sk-e2e', reply: evalReply, dimensions: DIMENSIONS });
    db = await openTestDatabase();
    ({ quire } = await startEvalQuire(db, openai));
    keys.ownerWriter = await key('xt-owner', 'knowledge-admin');
    keys.ownerMember = await key('xt-owner', 'member');
    keys.otherWriter = await key('xt-other', 'knowledge-admin');
    keys.otherMember = await key('xt-other', 'member');
    const seeded = await seedCollection(db, { teamId: 'xt-owner', name: 'owner docs', embeddingModel: 'openai/text-embedding-3-small', generationModel: null, documents: [HARBOUR_GUIDE, GARDEN_NOTES] });
    collectionId = seeded.collectionId;
    currentVersion = seeded.indexVersionId!;
    documentIds = seeded.documentIds;
    // A second built version with the same model over the same chunks: what a rebuild leaves ready.
    candidateVersion = randomUUID();
    await db.query(`INSERT INTO index_versions (id, collection_id, embedding_model, dimensions, status, hnsw_state) VALUES ($1, $2, 'openai/text-embedding-3-small', $3, 'ready', 'exact')`, [candidateVersion, collectionId, DIMENSIONS]);
    await db.query(`INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding, graph_pending) SELECT chunk_id, $2, embedding, true FROM chunk_vectors WHERE index_version_id = $1`, [currentVersion, candidateVersion]);
  }, 120_000);
  afterAll(async () => {
    await quire?.stop();
    await openai?.close();
    await db?.close();
  });

  const promote = (who: string, body: object = {}) => call(who, 'POST', `/v1/collections/${collectionId}/index-versions/${candidateVersion}/promote`, body);
  const current = async () => (await db.query<{ v: string }>(`SELECT current_index_version_id AS v FROM collections WHERE id = $1`, [collectionId])).rows[0]!.v;

  test('an admin promotes another team\'s index version on benchmark evidence; other teams get 404 and members 403', async () => {
    const set = await call(keys.ownerWriter, 'POST', '/v1/eval-sets', {
      collection_id: collectionId,
      name: 'owner set',
      cases: [
        { question: 'When is high tide at Port Zephyr?', relevant_document_ids: [documentIds[0]] },
        { question: 'How do I keep slugs away from the beds?', relevant_document_ids: [documentIds[1]] },
        { question: 'Where do ferries to the islands leave from?', relevant_document_ids: [documentIds[0]] },
      ],
    });
    expect(set.status).toBe(201);

    // Nobody outside the owning team but the admin sees or changes anything.
    expect((await promote(keys.otherWriter)).status).toBe(404);
    expect((await promote(keys.otherWriter, { force: true })).status).toBe(403);
    expect((await promote(keys.otherMember)).status).toBe(403);
    expect((await promote(keys.ownerMember)).status).toBe(403);
    expect((await call(keys.otherWriter, 'GET', `/v1/eval-sets/${set.body.id}`)).status).toBe(404);
    expect((await call(keys.otherWriter, 'POST', '/v1/benchmarks', { eval_set_id: set.body.id, configurations: [{ name: 'v', mode: 'vector' }] })).status).toBe(404);
    expect((await call(keys.otherWriter, 'GET', `/v1/collections/${collectionId}/quality`)).status).toBe(404);

    // The admin reaches the collection: without evidence the gate answers (409), not a 404.
    const refused = await promote(keys.admin);
    expect(refused.status).toBe(409);
    expect(refused.body.evidence).toBeNull();
    expect((await call(keys.admin, 'GET', `/v1/eval-sets/${set.body.id}`)).body.cases).toBe(3);
    expect((await call(keys.admin, 'GET', `/v1/eval-sets?collection_id=${collectionId}`)).body.data.map((s: any) => s.id)).toEqual([set.body.id]);

    // The admin benchmarks both versions; the run belongs to the owning team, which sees it.
    const run = await call(keys.admin, 'POST', '/v1/benchmarks', {
      eval_set_id: set.body.id,
      configurations: [{ name: 'current', mode: 'vector' }, { name: 'candidate', mode: 'vector', index_version_id: candidateVersion }],
    });
    expect(run.status).toBe(202);
    let b = run.body;
    for (const deadline = Date.now() + 60_000; b.status === 'queued' || b.status === 'running'; ) {
      if (Date.now() > deadline) throw new Error('benchmark did not finish');
      await new Promise((r) => setTimeout(r, 100));
      b = (await call(keys.admin, 'GET', `/v1/benchmarks/${run.body.id}`)).body;
    }
    expect(b.status).toBe('completed');
    expect(b.summary.map((s: any) => s.errors)).toEqual([0, 0]);
    expect((await call(keys.ownerWriter, 'GET', `/v1/benchmarks/${b.id}`)).status).toBe(200);
    expect((await call(keys.otherWriter, 'GET', `/v1/benchmarks/${b.id}`)).status).toBe(404);

    const ok = await promote(keys.admin);
    expect(ok.status).toBe(200);
    expect(ok.body.forced).toBe(false);
    expect(ok.body.evidence.benchmark_id).toBe(b.id);
    expect(await current()).toBe(candidateVersion);
    const audit = await db.query<{ actor_team_id: string; target_id: string; code: string }>(`SELECT actor_team_id, target_id, code FROM audit_log WHERE action = 'index_version.promote'`);
    expect(audit.rows).toEqual([{ actor_team_id: 'default', target_id: collectionId, code: 'promoted' }]);
    const decisions = await db.query<{ outcome: string; team_id: string }>(`SELECT outcome, team_id FROM index_version_promotions WHERE collection_id = $1 ORDER BY id`, [collectionId]);
    expect(decisions.rows).toEqual([
      { outcome: 'refused', team_id: 'default' },
      { outcome: 'promoted', team_id: 'default' },
    ]);
  }, 120_000);

  test('an admin may force a promotion on another team\'s collection; the owning team\'s writers still promote their own', async () => {
    // Back to the first version: no benchmark compared the pair this way round, so the admin forces it.
    const back = await call(keys.admin, 'POST', `/v1/collections/${collectionId}/index-versions/${currentVersion}/promote`, { force: true });
    expect(back.status).toBe(200);
    expect(await current()).toBe(currentVersion);
    // The owner's knowledge-admin is not an organisation admin: it cannot force.
    expect((await promote(keys.ownerWriter, { force: true })).status).toBe(403);
    // But it reaches its own collection and the admin's run stands as its evidence.
    const own = await promote(keys.ownerWriter);
    expect(own.status).toBe(200);
    expect(await current()).toBe(candidateVersion);
  }, 60_000);
});

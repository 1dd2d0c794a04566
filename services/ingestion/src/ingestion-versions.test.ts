import type { Db } from '@quire/db';
import { HEADERS } from '@quire/contracts';
import { signIdentity, type RunningServer } from '@quire/server-kit';
import { takeOverStale } from './repo/document-jobs-repo.js';
import type { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { TEAM_A, TEST_SECRET, type client } from './testing/http.js';
import type { Identity } from '@quire/contracts';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

let t: TestIngestion;
let db: Db;
let fake: ReturnType<typeof createFakeGatewayModels>;
let server: RunningServer;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  t = await startTestIngestion('ingestion-versions');
  ({ db, fake, server, api } = t);
});

afterAll(() => t?.stop());

const text = (topic: string, n = 30) => Array.from({ length: n }, (_, i) => `Paragraph ${i} of the ${topic} document explains item ${i}.`).join('\n\n');
const postText = (collectionId: string, body: Record<string, unknown>) => api.call(`/v1/collections/${collectionId}/documents`, { json: body });

/** What a vector search over the collection's current version would see, right now. */
async function visible(collectionId: string): Promise<{ document_id: string; text: string; dims: number }[]> {
  const r = await db.query<{ document_id: string; text: string; dims: number }>(
    `SELECT ch.document_id, ch.text, vector_dims(cv.embedding)::int AS dims FROM collections c
       JOIN chunks ch ON ch.collection_id = c.id JOIN documents d ON d.id = ch.document_id AND d.status = 'ready'
       JOIN chunk_vectors cv ON cv.chunk_id = ch.id AND cv.index_version_id = c.current_index_version_id
      WHERE c.id = $1`,
    [collectionId],
  );
  return r.rows;
}

describe('content hash, replacement and progress', () => {
  test('identical bytes are answered with the existing document; a replacement swaps chunks atomically', async () => {
    const coll = await api.createCollection({ name: 'Versions', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } });
    const first = await postText(coll.id, { text: text('alpha'), title: 'Doc' });
    const doc = await api.waitForDocument(first.body.documents[0].id);
    const again = await postText(coll.id, { text: text('alpha'), title: 'Doc' });
    expect(again.status).toBe(200);
    expect(again.body.documents[0]).toMatchObject({ id: doc.id, duplicate: true });

    // Replace while a loop watches what search can see: always all-old or all-new, never empty.
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const rows = (await visible(coll.id)).filter((r) => r.document_id === doc.id);
        const kinds = new Set(rows.map((r) => (r.text.includes('alpha') ? 'old' : 'new')));
        expect(rows.length).toBeGreaterThan(0);
        expect(kinds.size).toBe(1);
        seen.add([...kinds][0]!);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const form = new FormData();
    form.append('file', new Blob([text('beta', 40)]), 'doc-v2.txt');
    // The new version restricts who may read it; that must take effect with its content.
    form.append('metadata', JSON.stringify({ access_groups: ['hr'] }));
    const put = await fetch(`${server.url}/v1/documents/${doc.id}`, { method: 'PUT', body: form, headers: { [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET) } });
    expect(put.status).toBe(202);
    const replacementId = ((await put.json()) as any).documents[0].id as string;
    for (let i = 0; i < 400; i++) {
      const d = await api.call(`/v1/documents/${doc.id}`);
      if (d.body.content_sha256 !== doc.content_sha256 && (await api.call(`/v1/documents/${replacementId}`)).body.status === 'ready') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
    watching = false;
    await watcher;
    expect(seen).toEqual(new Set(['old', 'new']));
    const after = await api.call(`/v1/documents/${doc.id}`);
    expect(after.body).toMatchObject({ status: 'ready', filename: 'doc-v2.txt', progress: { chunks_total: (await visible(coll.id)).length } });
    const access = await db.query<{ access_groups: string[] }>(`SELECT access_groups FROM documents WHERE id = $1`, [doc.id]);
    expect(access.rows[0]!.access_groups).toEqual(['hr']);
  });

  test('SSE streams stage changes and ends with the final state; a stall reason is shown', async () => {
    const coll = await api.createCollection({ name: 'Events', embedding_model: 'openai/small' });
    const r = await postText(coll.id, { text: text('gamma', 80) });
    const id = r.body.documents[0].id as string;
    const res = await fetch(`${server.url}/v1/documents/${id}/events`, { headers: { [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET) } });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const body = await res.text();
    const events = [...body.matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => ({ event: m[1]!, data: JSON.parse(m[2]!) }));
    expect(events[events.length - 1]).toMatchObject({ event: 'done', data: { id, status: 'ready' } });
    expect(events.filter((e) => e.event === 'progress').length).toBeGreaterThanOrEqual(1);

    await db.query(`UPDATE documents SET status = 'processing', stage = 'embedding', heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [id]);
    expect(await takeOverStale(db, 60_000, 10, 3)).toEqual([expect.objectContaining({ documentId: id })]);
    const stalled = await api.call(`/v1/documents/${id}`);
    expect(stalled.body.status).toBe('queued');
    expect(stalled.body.progress.stalled).toMatch(/No progress for 60 s during embedding/);
    expect(stalled.body.progress).toHaveProperty('eta_seconds');

    // One that has used all its attempts stalls again: it fails for good, saying where and why.
    await db.query(`UPDATE documents SET status = 'processing', stage = 'parsing', attempts = 3, heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [id]);
    expect(await takeOverStale(db, 60_000, 10, 3)).toEqual([]);
    const failed = await db.query<{ status: string; error_code: string; error_stage: string; error_message: string }>(`SELECT status, error_code, error_stage, error_message FROM documents WHERE id = $1`, [id]);
    expect(failed.rows[0]).toMatchObject({ status: 'failed', error_code: 'stalled', error_stage: 'parsing' });
    expect(failed.rows[0]!.error_message).toMatch(/No progress for 60 s during parsing on attempt 3 of 3/);
  });

  test('the time left is estimated from the embedding rate so far, and only while embedding', async () => {
    const coll = await api.createCollection({ name: 'Eta', embedding_model: 'openai/small' });
    const id = (await postText(coll.id, { text: text('delta', 40) })).body.documents[0].id as string;
    await api.waitForDocument(id);
    // A quarter of the chunks embedded in 10 s: the other three quarters take about 30 s more.
    await db.query(
      `UPDATE documents SET status = 'processing', stage = 'embedding', chunks_total = 100, chunks_embedded = 25,
              embed_started_at = now() - interval '10 seconds', heartbeat_at = now() WHERE id = $1`,
      [id],
    );
    const eta = (await api.call(`/v1/documents/${id}`)).body.progress.eta_seconds as number;
    expect(eta).toBeGreaterThanOrEqual(30);
    expect(eta).toBeLessThanOrEqual(32);
    await db.query(`UPDATE documents SET chunks_embedded = 75 WHERE id = $1`, [id]);
    expect((await api.call(`/v1/documents/${id}`)).body.progress.eta_seconds).toBeLessThanOrEqual(5);
    // Nothing embedded yet, or a later stage: no basis for an estimate, so none is shown.
    await db.query(`UPDATE documents SET chunks_embedded = 0 WHERE id = $1`, [id]);
    expect((await api.call(`/v1/documents/${id}`)).body.progress.eta_seconds).toBeNull();
    // Chunks from the embedding cache are no provider rate: 25 cached and nothing from the provider
    // yet is no basis either; 25 more from the provider in the 10 s leave 50 for about 20 s.
    await db.query(`UPDATE documents SET chunks_embedded = 25, chunks_cached = 25 WHERE id = $1`, [id]);
    expect((await api.call(`/v1/documents/${id}`)).body.progress.eta_seconds).toBeNull();
    await db.query(`UPDATE documents SET chunks_embedded = 50 WHERE id = $1`, [id]);
    const provider = (await api.call(`/v1/documents/${id}`)).body.progress.eta_seconds as number;
    expect(provider).toBeGreaterThanOrEqual(20);
    expect(provider).toBeLessThanOrEqual(22);
    await db.query(`UPDATE documents SET stage = 'indexing', chunks_embedded = 100 WHERE id = $1`, [id]);
    expect((await api.call(`/v1/documents/${id}`)).body.progress.eta_seconds).toBeNull();
  });
});

describe('swapping the embedding model', () => {
  test('dry run estimates, the build runs while queries keep answering, new uploads land in both, activation switches', async () => {
    const coll = await api.createCollection({ name: 'Swap', embedding_model: 'openai/text-embedding-3-small', chunking: { strategy: 'recursive', chunk_size: 150, chunk_overlap: 0 } });
    const ids: string[] = [];
    for (const t of ['one', 'two', 'three', 'four']) ids.push((await postText(coll.id, { text: text(t, 40) })).body.documents[0].id);
    for (const id of ids) expect((await api.waitForDocument(id)).status).toBe('ready');
    const chunkTotal = (await visible(coll.id)).length;

    const dry = await api.call(`/v1/collections/${coll.id}/index-versions`, { json: { embedding_model: 'openai/text-embedding-3-large', dry_run: true } });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dry_run: true, chunks: chunkTotal });
    expect(dry.body.estimated_tokens).toBeGreaterThan(0);
    expect(Number(dry.body.estimated_cost_usd)).toBeGreaterThan(0);

    // A model that answers slowly, so the build is observably in progress while we query.
    const slowName = 'openai/slow-16';
    const callsBefore = fake.calls.length;
    let answered = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const rows = await visible(coll.id);
        expect(rows.length).toBeGreaterThanOrEqual(chunkTotal);
        answered++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const build = await api.call(`/v1/collections/${coll.id}/index-versions`, { json: { embedding_model: slowName, dimensions: 16 } });
    expect(build.status).toBe(202);
    const vid = build.body.id as string;
    // Uploaded during the build: indexed into the current and the building version.
    const late = (await postText(coll.id, { text: text('late arrival', 10) })).body.documents[0].id as string;
    expect((await api.waitForDocument(late)).status).toBe('ready');
    let version: any;
    for (let i = 0; i < 400; i++) {
      version = (await api.call(`/v1/collections/${coll.id}/index-versions`)).body.data.find((v: { id: string }) => v.id === vid);
      if (version.status !== 'building') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(version).toMatchObject({ status: 'ready', current: false });
    const act = await api.call(`/v1/collections/${coll.id}/index-versions/${vid}/activate`, { json: {} });
    expect(act.status).toBe(200);
    watching = false;
    await watcher;
    expect(answered).toBeGreaterThan(3);
    const rows = await visible(coll.id);
    expect(rows.every((r) => r.dims !== 32)).toBe(true);
    expect(rows.length).toBe(chunkTotal + (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunks WHERE document_id = $1`, [late])).rows[0]!.n);
    expect(fake.calls.slice(callsBefore).every((c) => c.model === slowName || c.model === 'openai/text-embedding-3-small')).toBe(true);

    // The old version is kept (retired) until deleted; the current one cannot be deleted.
    const list = (await api.call(`/v1/collections/${coll.id}/index-versions`)).body.data;
    const old = list.find((v: { id: string }) => v.id !== vid);
    expect(old.status).toBe('retired');
    expect((await api.call(`/v1/collections/${coll.id}/index-versions/${vid}`, { method: 'DELETE' })).status).toBe(409);
    expect((await api.call(`/v1/collections/${coll.id}/index-versions/${old.id}`, { method: 'DELETE' })).status).toBe(200);

    // The cache: rebuilding with the same model calls the provider for nothing.
    const before = fake.calls.length;
    const rebuild = await api.call(`/v1/collections/${coll.id}/index-versions`, { json: { embedding_model: slowName, dimensions: 16, activate: 'on_ready' } });
    for (let i = 0; i < 400; i++) {
      const v = (await api.call(`/v1/collections/${coll.id}/index-versions`)).body.data.find((x: { id: string }) => x.id === rebuild.body.id);
      if (v.current) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(fake.calls.length).toBe(before);
  });
});

/** Polls the collection's versions until `vid` is as `until` says. */
const waitFor = async (collectionId: string, vid: string, until: (v: any) => boolean) => {
  for (let i = 0; i < 400; i++) {
    const v = (await api.call(`/v1/collections/${collectionId}/index-versions`)).body.data.find((x: { id: string }) => x.id === vid);
    if (until(v)) return v;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`index version ${vid} did not get there`);
};

describe('a keyword-only collection given an embedding model', () => {
  test("its ready documents' progress counts them embedded once the version with the model is current", async () => {
    const coll = await api.createCollection({ name: 'Keywords first' });
    const doc = (await postText(coll.id, { text: text('keyword') })).body.documents[0].id as string;
    const before = await api.waitForDocument(doc);
    expect(before.progress).toMatchObject({ embedding: 'none', chunks_embedded: 0 });
    const build = await api.call(`/v1/collections/${coll.id}/index-versions`, { json: { embedding_model: 'openai/text-embedding-3-small', activate: 'on_ready' } });
    expect(build.status).toBe(202);
    await waitFor(coll.id, build.body.id, (v) => v.current);
    const after = (await api.call(`/v1/documents/${doc}`)).body;
    expect(after.progress).toMatchObject({ embedding: 'vectors', chunks_total: before.progress.chunks_total, chunks_embedded: before.progress.chunks_total });
  });
});

describe('the promotion gate', () => {
  const KNOWLEDGE_ADMIN: Identity = { team_id: TEAM_A.team_id, key_id: 'key-ka', role: 'knowledge-admin', groups: [] };
  const auditRows = async (collectionId: string) =>
    (await db.query<{ action: string; actor_key_id: string; code: string; details: any; before: any; after: any }>(
      `SELECT action, actor_key_id, code, details, before, after FROM audit_log WHERE target_type = 'collection' AND target_id = $1 AND action LIKE 'index_version.%' ORDER BY id`,
      [collectionId],
    )).rows;

  test('only an admin switches versions without the gate (directly or on_ready), and the audit log says it was forced', async () => {
    const coll = await api.createCollection({ name: 'Gate', embedding_model: 'openai/text-embedding-3-small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } });
    const doc = (await postText(coll.id, { text: text('gate') })).body.documents[0].id as string;
    expect((await api.waitForDocument(doc)).status).toBe('ready');
    const built = await api.call(`/v1/collections/${coll.id}/index-versions`, { json: { embedding_model: 'openai/slow-16', dimensions: 16 }, identity: KNOWLEDGE_ADMIN });
    expect(built.status).toBe(202);
    const vid = built.body.id as string;
    await waitFor(coll.id, vid, (v) => v.status === 'ready');

    // A knowledge admin builds versions, but queries switch through the gate: promote after a benchmark.
    const refused = await api.call(`/v1/collections/${coll.id}/index-versions/${vid}/activate`, { json: {}, identity: KNOWLEDGE_ADMIN });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('permission_denied');
    expect(refused.body.error.message).toContain('/promote');
    const onReady = await api.call(`/v1/collections/${coll.id}/index-versions`, { json: { embedding_model: 'openai/slow-16', dimensions: 16, activate: 'on_ready' }, identity: KNOWLEDGE_ADMIN });
    expect([onReady.status, onReady.body.error?.param]).toEqual([403, 'activate']);
    // Asking what such a build would cost is not switching anything.
    const estimate = await api.call(`/v1/collections/${coll.id}/index-versions`, { json: { embedding_model: 'openai/slow-16', dimensions: 16, activate: 'on_ready', dry_run: true }, identity: KNOWLEDGE_ADMIN });
    expect([estimate.status, estimate.body.dry_run]).toEqual([200, true]);
    expect((await api.call(`/v1/collections/${coll.id}/index-versions`)).body.data.find((v: { id: string }) => v.id === vid).current).toBe(false);
    expect(await auditRows(coll.id)).toEqual([]);

    // An admin may: recorded as a forced promotion, in the same transaction as the switch.
    const previous = (await api.call(`/v1/collections/${coll.id}/index-versions`)).body.data.find((v: { current: boolean }) => v.current).id as string;
    expect((await api.call(`/v1/collections/${coll.id}/index-versions/${vid}/activate`, { json: {} })).status).toBe(200);
    expect(await auditRows(coll.id)).toEqual([
      expect.objectContaining({ action: 'index_version.activate', actor_key_id: TEAM_A.key_id, code: 'forced', details: expect.objectContaining({ forced: true, trigger: 'activate' }), before: { current_index_version_id: previous }, after: { current_index_version_id: vid } }),
    ]);
    const promotions = await db.query<{ outcome: string; key_id: string }>(`SELECT outcome, key_id FROM index_version_promotions WHERE collection_id = $1 AND index_version_id = $2`, [coll.id, vid]);
    expect(promotions.rows).toEqual([{ outcome: 'forced', key_id: TEAM_A.key_id }]);

    // An admin's on_ready switch is recorded in the admin's name when the build completes.
    const next = await api.call(`/v1/collections/${coll.id}/index-versions`, { json: { embedding_model: 'openai/text-embedding-3-small', activate: 'on_ready' } });
    expect(next.status).toBe(202);
    await waitFor(coll.id, next.body.id, (v) => v.current);
    expect((await auditRows(coll.id)).at(-1)).toMatchObject({ action: 'index_version.activate', actor_key_id: TEAM_A.key_id, details: { forced: true, trigger: 'on_ready' }, after: { current_index_version_id: next.body.id } });
  });
});

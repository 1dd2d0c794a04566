import { createHash, randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { createLogger } from '@quire/server-kit';
import { startQuire, type RunningQuire } from '../../scripts/start-quire.js';
import { makePdf } from '../../services/ingestion/src/testing/fixtures.js';
import { AUTH, E2E_ADMIN_KEY, waitForDocument } from '../e2e/quire-harness.js';

const PLANTED = 'The secret launch code for project Heron is violet-seven.';
let openai: FakeOpenAI;
let db: Db;
let quire: RunningQuire;

const start = () =>
  startQuire({
    db,
    port: 0,
    queueName: `nothing-lost-${randomUUID()}`,
    logger: createLogger({ test: 'nothing-lost' }, 'error'),
    env: { QUIRE_ADMIN_KEY: E2E_ADMIN_KEY, OPENAI_API_KEY: 'sk-nl', OPENAI_BASE_URL: openai.url, QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai', QUIRE_PRICING_JSON: JSON.stringify({ 'openai/text-embedding-3-small': { input: '0.02', output: '0', asOf: 't', source: 't' } }) },
  });

beforeAll(async () => {
  openai = await startFakeOpenAI({ apiKey: 'sk-nl', dimensions: 64, latencyMs: 30 });
  db = await openTestDatabase();
  quire = await start();
}, 60_000);

afterAll(async () => {
  await quire?.stop();
  await openai?.close();
  await db?.close();
});

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

test('nothing accepted is lost: committed before 2xx, one final state after a restart, exact chunks, searchable, deletes stick, ledger complete', async () => {
  const base = quire.url;
  const coll = (await (await fetch(`${base}/v1/collections`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'NL', embedding_model: 'openai/text-embedding-3-small', chunking: { strategy: 'recursive', chunk_size: 300, chunk_overlap: 0 } }) })).json()) as { id: string };
  const files: { name: string; bytes: Uint8Array }[] = [
    { name: 'heron.pdf', bytes: await makePdf([['Project Heron overview', 'Heron is our new launch.'], ['Codes', PLANTED]]) },
    ...Array.from({ length: 5 }, (_, i) => ({ name: `note-${i}.md`, bytes: new TextEncoder().encode(`# Note ${i}\n\n${Array.from({ length: 20 }, (_, k) => `Fact ${k} of note ${i}.`).join(' ')}`) })),
  ];
  const ids: string[] = [];
  for (const f of files) {
    const form = new FormData();
    form.append('file', new Blob([Buffer.from(f.bytes)]), f.name);
    const res = await fetch(`${base}/v1/collections/${coll.id}/documents`, { method: 'POST', body: form, headers: AUTH });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as any).documents[0].id as string;
    ids.push(id);
    // (1) The row and the bytes were committed before the answer.
    const stored = await db.query<{ sha: string; bytes: Uint8Array }>(`SELECT b.sha256 AS sha, b.bytes FROM documents d JOIN document_blobs b ON b.document_id = d.id WHERE d.id = $1`, [id]);
    expect(stored.rows[0]!.sha).toBe(sha(f.bytes));
    expect(sha(new Uint8Array(stored.rows[0]!.bytes))).toBe(sha(f.bytes));
  }
  // Delete one while it may still be processing: it must never come back.
  const doomed = ids.pop()!;
  expect((await fetch(`${base}/v1/documents/${doomed}`, { method: 'DELETE', headers: AUTH })).status).toBe(200);

  // "Crash": stop the whole composition mid-work and start a new one on the same database.
  await quire.stop();
  await db.query(`UPDATE documents SET status = 'processing', heartbeat_at = now() - interval '1 hour' WHERE status <> 'ready'`);
  quire = await start();
  const started = Date.now();
  // (2) Every accepted document reaches exactly one final state within a bound.
  const finals = await Promise.all(ids.map((id) => waitForDocument(quire.url, id, 30_000)));
  expect(Date.now() - started).toBeLessThan(30_000);
  for (const d of finals) expect(d.status).toBe('ready');

  // (3) Visible chunks are exactly the active version's: one finite vector of the right size each, no duplicates, no orphans.
  const check = await db.query<{ id: string; chunks_total: number; chunks: number; ordinals: number; vectors: number; wrong_dims: number }>(
    `SELECT d.id, d.chunks_total, count(ch.id)::int AS chunks, count(DISTINCT ch.ordinal)::int AS ordinals,
            count(cv.chunk_id)::int AS vectors, count(cv.chunk_id) FILTER (WHERE vector_dims(cv.embedding) <> 64)::int AS wrong_dims
       FROM documents d JOIN collections c ON c.id = d.collection_id
       LEFT JOIN chunks ch ON ch.document_id = d.id
       LEFT JOIN chunk_vectors cv ON cv.chunk_id = ch.id AND cv.index_version_id = c.current_index_version_id
      WHERE d.collection_id = $1 GROUP BY d.id, d.chunks_total`,
    [coll.id],
  );
  expect(check.rows).toHaveLength(ids.length);
  for (const r of check.rows) expect([r.chunks, r.ordinals, r.vectors, r.wrong_dims]).toEqual([r.chunks_total, r.chunks_total, r.chunks_total, 0]);
  const orphans = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM chunk_vectors cv LEFT JOIN chunks ch ON ch.id = cv.chunk_id LEFT JOIN documents d ON d.id = ch.document_id
      WHERE d.id IS NULL OR d.status <> 'ready'`,
  );
  expect(orphans.rows[0]!.n).toBe(0);
  const finite = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunk_vectors WHERE embedding::text ~* 'nan|inf'`);
  expect(finite.rows[0]!.n).toBe(0);

  // (4) The planted sentence is found by search.
  const search = (await (await fetch(`${quire.url}/v1/collections/${coll.id}/search`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ query: 'secret launch code project Heron', top_k: 3 }) })).json()) as any;
  expect(JSON.stringify(search.results ?? search.data ?? search)).toContain('violet-seven');

  // (5) The deleted document never comes back, even after the restart and reconciler sweeps.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect((await fetch(`${quire.url}/v1/documents/${doomed}`, { headers: AUTH })).status).toBe(404);
  expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunks WHERE document_id = $1`, [doomed])).rows[0]!.n).toBe(0);

  // (6) Every provider call is in the ledger exactly once.
  const providerCalls = openai.requests.filter((r) => r.path === '/v1/embeddings').length;
  const ledger = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM usage_ledger WHERE capability = 'embedding'`);
  expect(providerCalls).toBeGreaterThan(0);
  expect(ledger.rows[0]!.n).toBe(providerCalls);
}, 120_000);

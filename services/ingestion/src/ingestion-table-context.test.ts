import { createHash } from 'node:crypto';
import type { Db } from '@quire/db';
import { analyze } from '@quire/keyword-index';
import { collectionChunkStats } from './versions/index-versions-repo.js';
import { makeDocx } from './testing/docx-fixtures.js';
import type { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import type { client } from './testing/http.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

let t: TestIngestion;
let db: Db;
let fake: ReturnType<typeof createFakeGatewayModels>;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  t = await startTestIngestion('ingestion-table-context');
  ({ db, fake, api } = t);
});

afterAll(() => t?.stop());

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
// Two tables with the same rows under headers of the same length, so the chunker cuts both alike:
// their continuation chunks have equal texts and differ only in the header.
const SALES = ['Region', 'Sales 2023', 'Sales 2024'];
const STAFF = ['Region', 'Staff 2023', 'Staff 2024'];
const ROWS = Array.from({ length: 24 }, (_, i) => [`District ${i}`, String(1000 + i * 7), String(2000 + i * 11)]);
const headerOf = (cells: string[]) => `| ${cells.join(' | ')} |\n|${cells.map(() => ' --- ').join('|')}|`;
const REPORT = makeDocx([
  { heading: 1, text: 'Annual report' },
  { text: 'Sales by district, in thousands of euros.' },
  { table: [SALES, ...ROWS] },
  { text: 'Staff by district, in full-time equivalents.' },
  { table: [STAFF, ...ROWS] },
]);

interface StoredChunk {
  id: string;
  text: string;
  context: string | null;
  content_sha256: string;
}

const input = (c: StoredChunk) => (c.context ? `${c.context}\n${c.text}` : c.text);
const parse = (literal: string) => JSON.parse(literal) as number[];
const near = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) < 1e-6);

async function waitForVersion(collectionId: string, id: string): Promise<{ status: string }> {
  for (let i = 0; i < 800; i++) {
    const v = (await api.call(`/v1/collections/${collectionId}/index-versions`)).body.data.find((x: { id: string }) => x.id === id);
    if (v.status !== 'building') return v;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`index version ${id} still building`);
}

/** Each chunk's vector in a version, as stored. */
async function vectors(versionId: string): Promise<Map<string, number[]>> {
  const r = await db.query<{ chunk_id: string; embedding: string }>(`SELECT chunk_id, embedding::text AS embedding FROM chunk_vectors WHERE index_version_id = $1`, [versionId]);
  return new Map(r.rows.map((row) => [row.chunk_id, parse(row.embedding)]));
}

test('a DOCX table cut across chunks: continuation chunks store, embed and re-embed the header as context', async () => {
  const coll = await api.createCollection({ name: 'Tables', embedding_model: 'openai/tables-a', chunking: { strategy: 'recursive', chunk_size: 160, chunk_overlap: 0 } });
  // The budget check before a parsed document's first embedding call counts what will be embedded.
  const estimates: number[] = [];
  fake.models.checkBudget = async (_context, estimate) => {
    estimates.push(estimate.tokens);
  };
  const r = await api.upload(coll.id, [{ name: 'report.docx', bytes: REPORT }]);
  expect(r.status).toBe(202);
  const doc = await api.waitForDocument(r.body.documents[0].id);
  delete fake.models.checkBudget;
  expect(doc.status).toBe('ready');

  const chunks = (await db.query<StoredChunk>(`SELECT id, text, context, content_sha256 FROM chunks WHERE document_id = $1 ORDER BY ordinal`, [doc.id])).rows;
  const sales = chunks.filter((c) => c.context === headerOf(SALES));
  const staff = chunks.filter((c) => c.context === headerOf(STAFF));
  expect(sales.length).toBeGreaterThan(2);
  expect(staff.length).toBe(sales.length);
  // The chunks that hold a header, and the prose, carry none; the rows after it do.
  for (const c of chunks.filter((c) => c.text.includes('| Region |') || !c.text.startsWith('|'))) expect(c.context).toBeNull();
  expect(chunks.filter((c) => c.context === null && c.text.startsWith('| District'))).toEqual([]);

  // The stored key is the hash of what was embedded: equal rows under different headers never share a vector.
  for (const c of chunks) expect(c.content_sha256).toBe(sha256(input(c)));
  const twins = sales.map((s) => [s, staff.find((x) => x.text === s.text)] as const).filter(([, x]) => x !== undefined);
  expect(twins.length).toBeGreaterThan(1);
  for (const [s, x] of twins) expect(s.content_sha256).not.toBe(x!.content_sha256);

  // The provider was sent header and rows together, and the stored vectors are those of that input.
  const sent = fake.calls.filter((c) => c.context.documentId === doc.id).flatMap((c) => c.values);
  expect(sent.sort()).toEqual([...new Set(chunks.map(input))].sort());
  const current = (await db.query<{ id: string }>(`SELECT current_index_version_id AS id FROM collections WHERE id = $1`, [coll.id])).rows[0]!.id;
  const first = await vectors(current);
  for (const c of chunks) expect(near(first.get(c.id)!, fake.embed(input(c)))).toBe(true);
  for (const [s, x] of twins) expect(near(first.get(s.id)!, first.get(x!.id)!)).toBe(false);
  expect(estimates).toEqual([Math.ceil(chunks.reduce((n, c) => n + input(c).length, 0) / 4)]);

  // Keyword search indexes the text alone: the header's words are in the one chunk that holds them.
  const [staffTerm] = analyze('Staff').map((tok) => tok.term);
  const withTerm = await db.query<{ n: number }>(`SELECT count(DISTINCT chunk_id)::int AS n FROM bm25_postings WHERE collection_id = $1 AND term = $2`, [coll.id, staffTerm]);
  expect(withTerm.rows[0]!.n).toBe(chunks.filter((c) => /staff/i.test(c.text)).length);
  expect(withTerm.rows[0]!.n).toBeLessThan(staff.length);

  // A rebuild's cost estimate counts the characters it embeds, headers included.
  expect(await collectionChunkStats(db, coll.id)).toEqual({ chunks: chunks.length, chars: chunks.reduce((n, c) => n + input(c).length, 0) });

  // Swapping the embedding model re-embeds the stored chunks with the same inputs.
  const before = fake.calls.length;
  const swap = await api.call(`/v1/collections/${coll.id}/index-versions`, { json: { embedding_model: 'openai/tables-b', dimensions: 16 } });
  expect(swap.status).toBe(202);
  expect(await waitForVersion(coll.id, swap.body.id)).toMatchObject({ status: 'ready' });
  const resent = fake.calls.slice(before).filter((c) => c.model === 'openai/tables-b').flatMap((c) => c.values);
  expect(resent.sort()).toEqual([...new Set(chunks.map(input))].sort());
  const swapped = await vectors(swap.body.id);
  for (const c of chunks) expect(near(swapped.get(c.id)!, fake.embed(input(c), 16))).toBe(true);

  // A version that changes chunking re-parses the bytes: its own chunks carry their headers too.
  const rechunk = await api.call(`/v1/collections/${coll.id}/index-versions`, {
    json: { embedding_model: 'openai/tables-c', dimensions: 24, chunking: { strategy: 'recursive', chunk_size: 120, chunk_overlap: 0 }, activate: 'manual' },
  });
  expect(rechunk.status).toBe(202);
  expect(await waitForVersion(coll.id, rechunk.body.id)).toMatchObject({ status: 'ready' });
  const own = (await db.query<StoredChunk>(`SELECT id, text, context, content_sha256 FROM chunks WHERE index_version_id = $1`, [rechunk.body.id])).rows;
  expect(own.filter((c) => c.context === headerOf(SALES)).length).toBeGreaterThan(sales.length);
  const rechunked = await vectors(rechunk.body.id);
  for (const c of own) {
    expect(c.content_sha256).toBe(sha256(input(c)));
    expect(near(rechunked.get(c.id)!, fake.embed(input(c), 24))).toBe(true);
  }
});

import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { analyze, primaryTokens } from './analyzer.js';
import { bm25Search, type Bm25Params } from './bm25-search.js';
import { deletePostings, writePostings } from './postings.js';
import { parseQuery } from './query-parser.js';

const CORPUS = [
  'Vitamin D supplementation in pregnancy reduces the risk of preeclampsia.',
  'Vitamin D deficiency is common; vitamin D levels were measured in 300 pregnant women.',
  'The immune system responds to infection by producing antibodies and immunoglobulins.',
  'Immunotherapy for cancer: checkpoint inhibitors activate the immune response against tumours.',
  'Randomised trial of aspirin in pregnancy. Aspirin, aspirin and again aspirin lowered blood pressure.',
  'A very long abstract about nothing in particular, about the weather, the sea, the sky, clouds, rain, wind and many other words that make it long.',
  'Short note on D.',
  'Pregnancy outcomes after vitamin supplementation with D and calcium in rural clinics.',
  "Le télétravail est autorisé; l'ordinateur portable: 使用VPN连接公司网络.",
];

/** A plain BM25 over the same analysed tokens: the reference the SQL must equal. */
function referenceBm25(docs: Map<string, string>, query: string, p: Bm25Params): Map<string, number> {
  const parsed = parseQuery(query);
  const analysed = new Map([...docs].map(([id, text]) => [id, analyze(text)]));
  const n = analysed.size;
  // A chunk's length counts its tokens, not their other forms (accent-folded) at the same position.
  const length = (tokens: ReturnType<typeof analyze>) => primaryTokens(tokens).length;
  const avgdl = [...analysed.values()].reduce((s, t) => s + length(t), 0) / n;
  const vocabulary = new Set([...analysed.values()].flatMap((t) => t.map((x) => x.term)));
  const qtf = new Map(parsed.terms);
  for (const prefix of parsed.prefixes) for (const term of vocabulary) if (term.startsWith(prefix)) qtf.set(term, (qtf.get(term) ?? 0) + 1);
  const scores = new Map<string, number>();
  for (const [id, tokens] of analysed) {
    const terms = tokens.map((t) => t.term);
    const hasPhrase = parsed.phrases.every((ph) =>
      tokens.some((t) => t.term === ph.terms[0] && ph.terms.every((term, i) => tokens.some((u) => u.term === term && u.position === t.position + ph.offsets[i]!))),
    );
    if (!hasPhrase) continue;
    let score = 0;
    let matched = false;
    for (const [term, f] of qtf) {
      const tf = terms.filter((t) => t === term).length;
      if (tf === 0) continue;
      matched = true;
      const df = [...analysed.values()].filter((t) => t.some((x) => x.term === term)).length;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      score += f * idf * ((tf * (p.k1 + 1)) / (tf + p.k1 * (1 - p.b + (p.b * length(tokens)) / avgdl)));
    }
    if (matched) scores.set(id, score);
  }
  return scores;
}

async function seedCollection(db: Db): Promise<{ collectionId: string; documentIds: string[] }> {
  const collectionId = randomUUID();
  await db.query(`INSERT INTO collections (id, team_id, name, chunking) VALUES ($1, 'default', $2, '{}')`, [collectionId, `c-${collectionId}`]);
  return { collectionId, documentIds: [] };
}

async function addDocument(db: Db, collectionId: string, texts: string[]): Promise<{ documentId: string; chunkIds: string[] }> {
  return db.transaction(async (tx) => {
    const doc = await tx.query<{ id: string }>(
      `INSERT INTO documents (collection_id, team_id, mime_type, byte_size, content_sha256, status) VALUES ($1, 'default', 'text/plain', 1, 'x', 'ready') RETURNING id`,
      [collectionId],
    );
    const documentId = doc.rows[0]!.id;
    const chunkIds: string[] = [];
    for (const [i, text] of texts.entries()) {
      const r = await tx.query<{ id: string }>(
        `INSERT INTO chunks (document_id, collection_id, ordinal, text, content_sha256, char_start, char_end) VALUES ($1, $2, $3, $4, 'x', 0, $5) RETURNING id`,
        [documentId, collectionId, i, text, text.length],
      );
      chunkIds.push(r.rows[0]!.id);
    }
    await writePostings(tx, collectionId, chunkIds.map((chunkId, i) => ({ chunkId, text: texts[i]! })));
    return { documentId, chunkIds };
  });
}

function expectEqualScores(actual: { chunkId: string; score: number }[], expected: Map<string, number>): void {
  expect(actual.map((h) => h.chunkId).sort()).toEqual([...expected.keys()].sort());
  for (const hit of actual) expect(Math.abs(hit.score - expected.get(hit.chunkId)!)).toBeLessThan(1e-9);
  for (let i = 1; i < actual.length; i++) expect(actual[i - 1]!.score).toBeGreaterThanOrEqual(actual[i]!.score);
}

describe('BM25 in SQL', () => {
  let db: Db;
  let collectionId: string;
  const docs = new Map<string, string>();
  const chunkDocs: { documentId: string; chunkIds: string[] }[] = [];

  beforeAll(async () => {
    db = await openTestDatabase();
    ({ collectionId } = await seedCollection(db));
    // Two multi-chunk documents and singles, so deletes by document exercise the cascade.
    const groups = [[0, 1], [2, 3, 4], [5], [6], [7], [8]];
    for (const g of groups) {
      const added = await addDocument(db, collectionId, g.map((i) => CORPUS[i]!));
      added.chunkIds.forEach((id, j) => docs.set(id, CORPUS[g[j]!]!));
      chunkDocs.push(added);
    }
  });
  afterAll(async () => db.close());

  const queries = ['vitamin D pregnancy', 'aspirin aspirin blood', 'immun*', '"vitamin D" pregnancy', '"vitamin D in pregnancy"', 'clouds', 'D', 'nothingmatches', 'télétravail', 'teletravail', 'ordinateur', 'VPN', '"télétravail est autorisé"'];
  const settings: Bm25Params[] = [
    { k1: 0.9, b: 0.4 },
    { k1: 1.2, b: 0.75 },
  ];

  test.each(settings.flatMap((p) => queries.map((q) => [q, p] as const)))('%s with %o equals the reference to 1e-9', async (query, p) => {
    const hits = await bm25Search(db, collectionId, query, { limit: 100, params: p });
    expectEqualScores(hits, referenceBm25(docs, query, p));
  });

  test('collection statistics match the postings', async () => {
    const stats = await db.query<{ doc_count: number; total_length: number }>(
      `SELECT doc_count::int, total_length::int FROM bm25_collection_stats WHERE collection_id = $1`,
      [collectionId],
    );
    const lengths = [...docs.values()].map((t) => primaryTokens(analyze(t)).length);
    expect(stats.rows[0]).toEqual({ doc_count: docs.size, total_length: lengths.reduce((a, b) => a + b, 0) });
    const df = await db.query<{ df: number }>(`SELECT df FROM bm25_terms WHERE collection_id = $1 AND term = 'vitamin'`, [collectionId]);
    expect(df.rows[0]!.df).toBe(3);
  });

  test('deleting a document (cascade) and deletePostings keep scores exact', async () => {
    const victim = chunkDocs[0]!;
    await db.query(`DELETE FROM documents WHERE id = $1`, [victim.documentId]);
    for (const id of victim.chunkIds) docs.delete(id);
    const single = chunkDocs[3]!.chunkIds[0]!;
    await db.transaction((tx) => deletePostings(tx, [single]));
    docs.delete(single);
    for (const q of ['vitamin D pregnancy', 'immun*', 'D']) {
      expectEqualScores(await bm25Search(db, collectionId, q, { limit: 100 }), referenceBm25(docs, q, { k1: 0.9, b: 0.4 }));
    }
    const gone = await db.query(`SELECT 1 FROM bm25_terms WHERE collection_id = $1 AND term = 'deficiency'`, [collectionId]);
    expect(gone.rows).toHaveLength(0);
  });

  test('a scope puts filters inside the query and the limit still fills', async () => {
    const keep = chunkDocs[1]!.documentId;
    const hits = await bm25Search(db, collectionId, 'immune aspirin', {
      limit: 2,
      scope: (first) => ({ sql: `c.document_id = $${first}`, params: [keep] }),
    });
    expect(hits).toHaveLength(2);
    for (const h of hits) expect(chunkDocs[1]!.chunkIds).toContain(h.chunkId);
  });

  test('collections do not see each other; deleting a collection removes its statistics', async () => {
    const other = await seedCollection(db);
    await addDocument(db, other.collectionId, ['vitamin vitamin vitamin']);
    const hits = await bm25Search(db, collectionId, 'vitamin', { limit: 100 });
    expectEqualScores(hits, referenceBm25(docs, 'vitamin', { k1: 0.9, b: 0.4 }));
    await db.query(`DELETE FROM collections WHERE id = $1`, [other.collectionId]);
    const left = await db.query(`SELECT 1 FROM bm25_collection_stats WHERE collection_id = $1 UNION ALL SELECT 1 FROM bm25_terms WHERE collection_id = $1`, [other.collectionId]);
    expect(left.rows).toHaveLength(0);
  });
});

describe('chunks indexed by the analyser\'s 1st version', () => {
  let db: Db;
  afterAll(async () => db?.close());

  test('still match the queries that found them: a query carries the 1st version\'s terms too', async () => {
    db = await openTestDatabase();
    const { collectionId } = await seedCollection(db);
    const text = "Le télétravail est autorisé; l'ordinateur portable: 使用VPN连接.";
    const { chunkIds } = await addDocument(db, collectionId, [text, 'vitamin D in pregnancy']);
    const old = chunkIds[0]!;
    // What the 1st version wrote for this chunk: the elided word whole, the mixed word bigrammed whole, accents as written.
    const v1: [string, number][] = [['le', 0], ['télétravail', 1], ['est', 2], ['autorisé', 3], ["l'ordinateur", 4], ['portabl', 5], ['使用', 6], ['用v', 7], ['vp', 8], ['pn', 9], ['n连', 10], ['连接', 11]];
    await db.transaction(async (tx) => {
      await deletePostings(tx, [old]);
      await tx.query(`INSERT INTO bm25_chunks (chunk_id, collection_id, length) VALUES ($1, $2, $3)`, [old, collectionId, v1.length]);
      for (const [term, position] of v1) {
        await tx.query(`INSERT INTO bm25_postings (collection_id, term, chunk_id, tf, doc_length, positions) VALUES ($1, $2, $3, 1, $4, ARRAY[$5::int])`, [collectionId, term, old, v1.length, position]);
      }
    });
    for (const query of ['télétravail', "l'ordinateur", '使用VPN连接', '"le télétravail est autorisé"', 'autorisé']) {
      const hits = await bm25Search(db, collectionId, query, { limit: 10 });
      expect([query, hits.map((h) => h.chunkId)]).toEqual([query, [old]]);
    }
  });
});

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bm25KeywordQuery } from './bm25-retriever.js';
import { chunkSetScopeQuery } from './chunk-set-bm25.js';
import { exactVectorQuery, vectorQuery } from './vector-search.js';

/**
 * The search SQL as reviewers read it: `queries.sql` is rendered from the builders, so a change to
 * the SQL shows up as a diff of that file. `UPDATE_SQL=1` rewrites it.
 */
const FILE = fileURLToPath(new URL('./queries.sql', import.meta.url));
const COLLECTION = '00000000-0000-4000-8000-00000000000c';
const VERSION = '00000000-0000-4000-8000-0000000000a1';

function render(): string {
  const filters = { document_ids: ['00000000-0000-4000-8000-0000000000d1'], metadata: { lang: 'en' } };
  const blocks = [
    ['vector leg (no filters)', vectorQuery({ collectionId: COLLECTION, indexVersionId: VERSION, dimensions: 1536, embedding: [0.1], limit: 40 })],
    ['vector leg (document and metadata filters)', vectorQuery({ collectionId: COLLECTION, indexVersionId: VERSION, dimensions: 1536, embedding: [0.1], limit: 40, filters })],
    ['vector leg of a version whose graph is still filling (graph + exact pending tail)', vectorQuery({ collectionId: COLLECTION, indexVersionId: VERSION, dimensions: 1536, embedding: [0.1], limit: 40, pendingTail: true })],
    ['BM25 keyword leg (no filters)', bm25KeywordQuery(COLLECTION, 'tide "port zephyr" moor*', 40)],
    ['BM25 keyword leg (document and metadata filters)', bm25KeywordQuery(COLLECTION, 'tide', 40, filters)],
    ['BM25 keyword leg of a hybrid search, pinned to the chunk set of the version the vector leg reads', bm25KeywordQuery(COLLECTION, 'tide', 40, undefined, undefined, VERSION)],
    ['exact vector leg (few chunks match the filters or the caller\'s access groups)', exactVectorQuery({ collectionId: COLLECTION, indexVersionId: VERSION, dimensions: 1536, embedding: [0.1], limit: 40, filters: { ...filters, accessGroups: ['hr'] } })],
    ['vector leg of a benchmarked index version with its own chunk set (other chunking)', vectorQuery({ collectionId: COLLECTION, indexVersionId: VERSION, dimensions: 1536, embedding: [0.1], limit: 40, chunkSetVersionId: VERSION, filters })],
    ['BM25 over a version\'s own chunk set: the scope check of the chunks scored in memory', chunkSetScopeQuery(COLLECTION, VERSION, ['00000000-0000-4000-8000-0000000000c1'], filters)],
  ] as const;
  return `${blocks.map(([name, q]) => `-- ${name}; params: ${JSON.stringify(q.params)}\n${q.sql};`).join('\n\n')}\n`;
}

test('queries.sql matches the SQL the search legs run', () => {
  const sql = render();
  if (process.env.UPDATE_SQL === '1' || !existsSync(FILE)) writeFileSync(FILE, sql);
  expect(readFileSync(FILE, 'utf8')).toBe(sql);
});

/**
 * SciFact (BEIR) through the whole evaluation path: a subset of the corpus (every relevant doc of
 * the first N test queries, filled up with other docs to --docs) is uploaded through the gateway and
 * ingestion like any document, the queries and qrels become an eval set, and a benchmark runs
 * keyword (BM25), vector and hybrid; prints the comparison table with CIs, cost and latency.
 * The embedder is the fakes' hashed bag of words (no network; priced as text-embedding-3-small),
 * so "vector" measures the pipeline, not a real embedding model.
 * `pnpm bench:eval [--docs 500] [--queries 50] [--data DIR]`
 */
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { openTestDatabase } from '@quire/db';
import { CreatedSchema, importBeir, parseBeirQrels, parseBeirQueries, QuireEvalClient, type BeirDoc } from '@quire/eval';
import { startFakeOpenAI } from '@quire/fakes';
import { createLogger } from '@quire/server-kit';
import { printBenchmark } from '../../packages/eval/src/cli/eval-cli.js';
import { startQuire } from '../../scripts/start-quire.js';
import { E2E_ADMIN_KEY, TEST_PRICES } from '../../test/e2e/quire-harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: process.env.SCIFACT_DIR ?? path.join(ROOT, '../shared/data/scifact') },
    docs: { type: 'string', default: '500' },
    queries: { type: 'string', default: '50' },
  },
});

async function readCorpus(file: string, keep: (id: string, index: number) => boolean): Promise<BeirDoc[]> {
  const out: BeirDoc[] = [];
  let i = 0;
  for await (const line of createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const doc = JSON.parse(line) as BeirDoc;
    if (keep(doc._id, i++)) out.push(doc);
  }
  return out;
}

async function main(): Promise<void> {
  const dir = path.resolve(args.data!);
  const allQrels = parseBeirQrels(readFileSync(path.join(dir, 'qrels/test.tsv'), 'utf8'));
  const queryIds = [...allQrels.keys()].slice(0, Number(args.queries));
  const qrels = new Map(queryIds.map((q) => [q, allQrels.get(q)!]));
  const relevant = new Set(queryIds.flatMap((q) => [...allQrels.get(q)!.keys()]));
  const fill = Math.max(0, Number(args.docs) - relevant.size);
  let filled = 0;
  // Every relevant doc, then the first other docs in file order until --docs.
  const corpus = await readCorpus(path.join(dir, 'corpus.jsonl.gz'), (id) => relevant.has(id) || (filled < fill && ++filled > 0));
  const queries = parseBeirQueries(readFileSync(path.join(dir, 'queries.jsonl'), 'utf8')).filter((q) => qrels.has(q._id));

  const openai = await startFakeOpenAI({ apiKey: 'sk-bench', dimensions: 256 });
  const db = await openTestDatabase();
  const pricing = Object.fromEntries(Object.entries(TEST_PRICES).map(([k, v]) => [k, { ...v, asOf: 'bench', source: 'bench' }]));
  const quire = await startQuire({
    db,
    port: 0,
    logger: createLogger({ bench: 'eval' }, 'error'),
    env: { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: openai.url, QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai', QUIRE_PRICING_JSON: JSON.stringify(pricing), QUIRE_ADMIN_KEY: E2E_ADMIN_KEY },
  });
  try {
    const client = new QuireEvalClient(quire.url, E2E_ADMIN_KEY);
    const collection = await client.call(CreatedSchema, 'POST', '/v1/collections', { name: 'scifact-subset', embedding_model: 'openai/text-embedding-3-small' });
    let start = performance.now();
    const set = await importBeir(client, { collectionId: collection.id, name: 'scifact test subset', corpus, queries, qrels });
    console.log(`SciFact subset: ${corpus.length} docs (all ${relevant.size} relevant to the first ${queryIds.length} test queries), ${set.cases} eval cases, ${set.unmapped_count} unmapped qrels; import ${((performance.now() - start) / 1000).toFixed(1)} s`);
    start = performance.now();
    const run = await client.call(CreatedSchema, 'POST', '/v1/benchmarks', {
      eval_set_id: set.id,
      configurations: [
        { name: 'keyword-bm25', mode: 'keyword', top_k: 10 },
        { name: 'vector-fake-embed', mode: 'vector', top_k: 10 },
        { name: 'hybrid-balanced', mode: 'hybrid', top_k: 10 },
      ],
    });
    const done = await client.waitForBenchmark(run.id, { timeoutMs: 600_000, pollMs: 500 });
    console.log(`benchmark ${done.status} in ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
    await printBenchmark(client, run.id);
  } finally {
    await quire.stop();
    await openai.close();
    await db.close();
  }
}

await main();

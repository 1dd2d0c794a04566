/**
 * pnpm bench:ingest [--docs 200] [--pages 20] [--latency-ms 50]
 * A generated corpus of text PDFs (pdf-lib). Measures (1) parsing + chunking alone through the
 * isolated parse pool and (2) end to end (upload -> parse -> chunk -> embed -> index, in-memory
 * PGlite) against a fake embedding provider with a fixed latency per call, and peak RSS.
 */
import { openTestDatabase } from '@quire/db';
import { createLogger, listen } from '@quire/server-kit';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { chunkText } from '../../services/ingestion/src/chunk/chunk-text.js';
import { createIngestionService, DEFAULT_LIMITS } from '../../services/ingestion/src/index.js';
import { createParsePool } from '../../services/ingestion/src/parse/parse-pool.js';
import { createFakeGatewayModels } from '../../services/ingestion/src/testing/fake-gateway-models.js';
import { client, TEST_SECRET } from '../../services/ingestion/src/testing/http.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const DOCS = arg('docs', 200);
const PAGES = arg('pages', 20);
const LATENCY = arg('latency-ms', 50);
const CHUNKING = { strategy: 'recursive' as const, chunk_size: 1000, chunk_overlap: 150 };
const WORDS = 'policy laptop warranty travel hotel manager budget report quarter revenue customer support contract renewal security training'.split(' ');

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`;

async function makeCorpus(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let d = 0; d < DOCS; d++) {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (let p = 0; p < PAGES; p++) {
      const page = doc.addPage([612, 792]);
      for (let l = 0; l < 30; l++) {
        const line = Array.from({ length: 12 }, (_, k) => WORDS[(d * 7 + p * 3 + l * 5 + k) % WORDS.length]).join(' ');
        page.drawText(`${line} d${d} p${p} l${l}.`, { x: 40, y: 750 - l * 22, size: 10, font });
      }
    }
    out.push(await doc.save());
  }
  return out;
}

async function main() {
  let t = Date.now();
  const corpus = await makeCorpus();
  console.log(`corpus: ${DOCS} PDFs x ${PAGES} pages (${mb(corpus.reduce((s, b) => s + b.length, 0))}) generated in ${Date.now() - t} ms`);

  // (1) Parsing + chunking alone, through the same isolated worker pool the service uses.
  const limits = DEFAULT_LIMITS;
  const pool = createParsePool({
    size: limits.parseWorkers,
    timeoutMs: limits.parseTimeoutMs,
    maxHeapMb: limits.parseHeapMb,
    limits: { maxPages: limits.maxPages, maxChars: limits.maxExtractedChars, maxZipEntries: limits.maxZipEntries, maxUncompressedBytes: limits.maxUncompressedBytes },
  });
  // Worker start-up and JIT warm-up (about a second per worker) are not parsing.
  await Promise.all(Array.from({ length: limits.parseWorkers * 2 }, (_, i) => pool.parse(corpus[i % corpus.length]!, 'application/pdf')));
  peakRss = 0;
  t = Date.now();
  let pages = 0;
  let chunks = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: limits.parseWorkers }, async () => {
      while (next < corpus.length) {
        const parsed = await pool.parse(corpus[next++]!, 'application/pdf');
        pages += parsed.pagesTotal ?? 0;
        chunks += (await chunkText(parsed, CHUNKING)).length;
      }
    }),
  );
  const parseSecs = (Date.now() - t) / 1000;
  console.log(`parse+chunk: ${pages} pages, ${chunks} chunks in ${parseSecs.toFixed(1)} s = ${(pages / parseSecs).toFixed(0)} pages/s, ${(chunks / parseSecs).toFixed(0)} chunks/s; peak RSS ${mb(peakRss)}`);
  await pool.close();

  // (2) End to end with a fake provider of fixed latency.
  const db = await openTestDatabase();
  const fake = createFakeGatewayModels({ dimensions: 256, maxEmbeddingsPerCall: 96, latencyMs: LATENCY });
  const service = await createIngestionService({ db, models: fake.models, logger: createLogger({ bench: 'ingest' }, 'error'), internalSecret: TEST_SECRET, limits: { reconcileIntervalMs: 3_600_000 } });
  await service.start();
  const server = await listen(service.app, 0);
  const api = client(server.url);
  const coll = await api.createCollection({ name: 'Bench', embedding_model: 'openai/bench', chunking: CHUNKING });
  peakRss = 0;
  t = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < corpus.length; i += 10) {
    const r = await api.upload(coll.id, corpus.slice(i, i + 10).map((bytes, k) => ({ name: `doc-${i + k}.pdf`, bytes })));
    ids.push(...r.body.documents.map((d: { id: string }) => d.id));
  }
  let e2eChunks = 0;
  for (const id of ids) e2eChunks += (await api.waitForDocument(id, 600_000)).progress.chunks_total;
  const e2eSecs = (Date.now() - t) / 1000;
  const calls = fake.calls.length;
  // The provider's pure latency budget: its calls at the concurrency Quire may use (jobs x per-provider cap).
  const parallel = Math.min(limits.concurrency, limits.embedConcurrencyPerProvider);
  const budget = (Math.ceil(calls / parallel) * LATENCY) / 1000;
  console.log(
    `end to end: ${ids.length} docs, ${pages} pages, ${e2eChunks} chunks in ${e2eSecs.toFixed(1)} s = ${(pages / e2eSecs).toFixed(0)} pages/s, ${(e2eChunks / e2eSecs).toFixed(0)} chunks/s; ` +
      `${calls} provider calls x ${LATENCY} ms at concurrency ${parallel} = ${budget.toFixed(1)} s budget; ratio ${(e2eSecs / budget).toFixed(2)}; peak RSS ${mb(peakRss)}`,
  );
  await server.close();
  await service.stop();
  await db.close();
  clearInterval(sampler);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

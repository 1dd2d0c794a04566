/**
 * pnpm bench:ingest [--docs 200] [--pages 20] [--latency-ms 50,1000] [--sweep] [--within 1.15] [--dims 256] [--statements] [--memory] [--database-url URL]
 *
 * A generated corpus of text PDFs (corpus.ts), then, each phase in its own process so that each
 * peak RSS is its own (getrusage's maxrss, worker threads and the WASM database included):
 * 1. parsing + chunking alone, through the isolated parse pool the service uses;
 * 2. Quire's own capacity: end to end (upload -> parse -> chunk -> embed -> index, in-memory PGlite)
 *    with a fake embedding provider that answers at once, then the background HNSW work it leaves;
 * 3. end to end with the provider answering each call after a fixed latency (`--latency-ms`, a
 *    comma-separated list runs one phase each), against the provider's pure latency budget;
 * 4. with `--sweep` (on by default; `--no-sweep`), the same at latencies around where the budget meets
 *    Quire's own time, until the crossover is bracketed: the smallest latency a call at which a
 *    run takes at most `--within` times the budget (sweep.ts).
 * PGlite keeps its data in a temporary folder, as the embedded mode does (`--memory`: in memory;
 * `--database-url postgres://...`: a fresh database on that PostgreSQL server with pgvector instead, as
 * docker-compose runs it; the server's processes share the same cores, and their memory is not in the RSS).
 * `--statements` lists the database statements that took the most time in phase 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeCorpus } from './corpus.js';
import { runE2e, runParse, type E2eResult, type ParseResult } from './ingest-phases.js';
import { providerBudgetMs, sweepLatency, type SweepPoint } from './sweep.js';

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    docs: { type: 'string', default: '200' },
    pages: { type: 'string', default: '20' },
    'latency-ms': { type: 'string', default: '50,1000' },
    sweep: { type: 'boolean', default: true },
    within: { type: 'string', default: '1.15' },
    dims: { type: 'string', default: '256' },
    statements: { type: 'boolean', default: false },
    memory: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    phase: { type: 'string' },
    corpus: { type: 'string' },
  },
});
const DOCS = Number(args.docs);
const PAGES = Number(args.pages);
const DIMS = Number(args.dims);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rate = (n: number, ms: number) => (n / (ms / 1000)).toFixed(0);

async function child(): Promise<void> {
  const dir = args.corpus!;
  const corpus = readdirSync(dir)
    .filter((f) => f.endsWith('.pdf'))
    .sort()
    .map((f) => new Uint8Array(readFileSync(path.join(dir, f))));
  const result =
    args.phase === 'parse'
      ? await runParse(corpus)
      : await runE2e(corpus, { latencyMs: Number(args['latency-ms']), dimensions: DIMS, waitForGraphs: args.phase === 'capacity', statements: args.statements!, memory: args.memory!, databaseUrl: args['database-url'] });
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

function phase<T>(name: string, corpusDir: string, extra: string[] = []): T {
  const script = fileURLToPath(import.meta.url);
  const flags = [...(args.statements ? ['--statements'] : []), ...(args.memory ? ['--memory'] : []), ...(args['database-url'] ? ['--database-url', args['database-url']] : [])];
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--phase', name, '--corpus', corpusDir, '--dims', String(DIMS), ...flags, ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`phase ${name} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(7)) as T;
}

async function main(): Promise<void> {
  if (args.phase) return child();
  const latencies = args['latency-ms']!.split(',').map(Number);
  const dir = path.join(os.tmpdir(), `quire-ingest-bench-${DOCS}x${PAGES}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let t = Date.now();
  const corpus = await makeCorpus(DOCS, PAGES);
  corpus.forEach((bytes, i) => writeFileSync(path.join(dir, `doc-${String(i).padStart(5, '0')}.pdf`), bytes));
  const mb = corpus.reduce((n, b) => n + b.length, 0) / 1048576;
  console.log(`corpus: ${DOCS} PDFs x ${PAGES} pages (${mb.toFixed(1)} MB, Zipfian text), generated in ${s(Date.now() - t)}; ${os.cpus().length} CPUs, Node ${process.version}`);

  const p = phase<ParseResult>('parse', dir);
  console.log(
    `parse + chunk alone (${p.workers} parse workers): ${p.pages} pages, ${p.chunks} chunks in ${s(p.ms)} = ${rate(p.pages, p.ms)} pages/s, ${rate(p.chunks, p.ms)} chunks/s; peak RSS ${p.peakRssMb} MB`,
  );

  t = Date.now();
  const cap = phase<E2eResult>('capacity', dir, ['--latency-ms', '0']);
  console.log(
    `Quire's capacity (provider answers at once): ${cap.pages} pages, ${cap.chunks} chunks ready in ${s(cap.ms)} = ${rate(cap.pages, cap.ms)} pages/s, ${rate(cap.chunks, cap.ms)} chunks/s; ` +
      `${cap.calls} provider calls; peak RSS ${cap.peakRssMb} MB`,
  );
  for (const line of cap.statements ?? []) console.log(`  ${line}`);
  const g = cap.graph!;
  console.log(
    `  vector index: ${g.vectors} vectors, threshold ${g.threshold} -> ${g.state === 'graph' ? `HNSW graph complete ${s(g.ms)} after the last document was ready (${rate(g.moved, g.ms)} vectors/s in the background)` : `no HNSW graph (searched exactly)`}; ` +
      `vector query p50 ${g.queryP50ReadyMs.toFixed(1)} ms when the documents were ready, ${g.queryP50AfterMs.toFixed(1)} ms after`,
  );

  const within = Number(args.within);
  const e2e = (latency: number): SweepPoint => {
    const e = phase<E2eResult>('e2e', dir, ['--latency-ms', String(latency)]);
    const budget = providerBudgetMs(e.calls, e.parallel, latency);
    const point = { latencyMs: latency, ms: e.ms, budgetMs: budget, ratio: e.ms / budget };
    console.log(
      `end to end, provider ${latency} ms a call: ${e.pages} pages, ${e.chunks} chunks ready in ${s(e.ms)} = ${rate(e.pages, e.ms)} pages/s, ${rate(e.chunks, e.ms)} chunks/s; ` +
        `provider budget ceil(${e.calls} calls / ${e.parallel} at once) x ${latency} ms = ${s(budget)}; ratio ${point.ratio.toFixed(2)}${point.ratio <= within ? ' (provider-bound)' : ''} ` +
        `(most calls seen in flight: ${e.maxInFlight}); peak RSS ${e.peakRssMb} MB`,
    );
    return point;
  };
  const fixed = latencies.map(e2e);
  // Where the budget alone reaches Quire's own time: the sweep starts there.
  const estimate = cap.ms / Math.ceil(cap.calls / cap.parallel);
  console.log(`the provider's budget reaches Quire's own ${s(cap.ms)} at about ${estimate.toFixed(0)} ms a call (${cap.calls} calls, ${cap.parallel} at once)`);
  if (args.sweep) {
    console.log(`latency sweep (provider-bound: end to end within ${within}x the budget):`);
    const { points, bracket } = await sweepLatency(estimate, within, async (latency) => fixed.find((p) => p.latencyMs === latency) ?? e2e(latency));
    console.log('  latency/call   end to end   budget   ratio');
    for (const p of points) console.log(`  ${`${p.latencyMs} ms`.padStart(12)} ${s(p.ms).padStart(12)} ${s(p.budgetMs).padStart(8)} ${p.ratio.toFixed(2).padStart(7)}`);
    const [miss, meet] = bracket;
    console.log(
      meet
        ? `crossover: provider-bound from ${meet.latencyMs} ms a call${miss ? ` (not yet at ${miss.latencyMs} ms)` : ''}; Quire's own capacity ${rate(cap.chunks, cap.ms)} chunks/s = ${rate(cap.pages, cap.ms)} pages/s`
        : `crossover: above ${miss!.latencyMs} ms a call (not reached in the sweep)`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/**
 * `pnpm eval <command>` against a running Quire (QUIRE_URL, QUIRE_API_KEY):
 *   benchmark <id>                       the comparison table with CIs, per-stage latency and cost, Pareto view
 *   compare <id> <a> <b>                 paired comparison of two configurations (names or indexes)
 *   list                                 benchmarks
 *   import-beir <collection_id> <dir> [name] [--limit-queries N]   corpus upload + eval set from a BEIR folder
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseBeirCorpus, parseBeirQrels, parseBeirQueries } from '../beir.js';
import { BenchmarkListSchema, BenchmarkSchema, ComparisonSchema } from '../api-schemas.js';
import { importBeir, QuireEvalClient } from '../client.js';
import { formatComparison, formatPareto, formatStageTable, formatSummaryTable, type ConfigSummary } from '../report.js';

export async function printBenchmark(client: QuireEvalClient, id: string, log: (s: string) => void = console.log): Promise<void> {
  const b = await client.call(BenchmarkSchema, 'GET', `/v1/benchmarks/${id}`);
  const summaries: ConfigSummary[] = b.summary;
  log(`Benchmark ${b.id}: ${b.status}, ${b.progress.done}/${b.progress.total} cases, spent $${Number(b.spent_usd).toPrecision(3)}${b.budget_usd ? ` of $${b.budget_usd}` : ''}`);
  log('Metrics: mean [95% bootstrap CI over questions, 1000 resamples, seed 42]\n');
  if (b.error) log(`Error: ${b.error}\n`);
  log(formatSummaryTable(summaries));
  for (const s of summaries) {
    for (const e of s.error_messages ?? []) log(`${s.name}: ${e.count} case(s) failed: ${e.message}`);
  }
  log('\nLatency per stage (p50 / p95) and cost per query per stage (ledger)\n');
  log(formatStageTable(summaries));
  log('\nPareto view (quality vs cost per query and vs p50 latency)\n');
  log(formatPareto(summaries));
  for (let i = 0; i < summaries.length; i++) {
    for (let j = i + 1; j < summaries.length; j++) {
      const cmp = await client.call(ComparisonSchema, 'GET', `/v1/benchmarks/${id}/compare?a=${i}&b=${j}`);
      log(`\n${cmp.a} vs ${cmp.b} (paired; winner only when significant)\n`);
      log(formatComparison(cmp.a, cmp.b, cmp.comparisons, cmp.skipped));
    }
  }
}

async function main(argv: string[]): Promise<void> {
  const url = process.env.QUIRE_URL ?? 'http://127.0.0.1:8080';
  const key = process.env.QUIRE_API_KEY;
  if (!key) throw new Error('Set QUIRE_API_KEY (and QUIRE_URL).');
  const client = new QuireEvalClient(url, key);
  const [command, ...args] = argv;
  switch (command) {
    case 'benchmark':
      if (!args[0]) throw new Error('usage: pnpm eval benchmark <id>');
      return printBenchmark(client, args[0]);
    case 'compare': {
      const [id, a, b] = args;
      if (!id || !a || !b) throw new Error('usage: pnpm eval compare <id> <a> <b>');
      const cmp = await client.call(ComparisonSchema, 'GET', `/v1/benchmarks/${id}/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
      console.log(formatComparison(cmp.a, cmp.b, cmp.comparisons, cmp.skipped));
      return;
    }
    case 'list': {
      // Every page, newest first.
      let cursor: string | null = null;
      do {
        const list: z.infer<typeof BenchmarkListSchema> = await client.call(BenchmarkListSchema, 'GET', `/v1/benchmarks?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        for (const b of list.data) console.log(`${b.id}  ${b.status.padEnd(14)} ${b.created_at}  ${b.configurations.join(', ')}`);
        cursor = list.next_cursor;
      } while (cursor);
      return;
    }
    case 'import-beir': {
      const [collectionId, dir, name] = args;
      if (!collectionId || !dir) throw new Error('usage: pnpm eval import-beir <collection_id> <dir> [name]');
      const read = (f: string) => (f.endsWith('.gz') ? gunzipSync(readFileSync(f)).toString('utf8') : readFileSync(f, 'utf8'));
      const corpusFile = [path.join(dir, 'corpus.jsonl'), path.join(dir, 'corpus.jsonl.gz')].find((f) => { try { readFileSync(f); return true; } catch { return false; } });
      if (!corpusFile) throw new Error(`No corpus.jsonl(.gz) in ${dir}`);
      const set = await importBeir(client, {
        collectionId,
        name: name ?? path.basename(dir),
        corpus: parseBeirCorpus(read(corpusFile)),
        queries: parseBeirQueries(read(path.join(dir, 'queries.jsonl'))),
        qrels: parseBeirQrels(read(path.join(dir, 'qrels', 'test.tsv'))),
        onProgress: (n, total) => n % 100 === 0 && console.error(`uploaded ${n}/${total}`),
      });
      console.log(JSON.stringify({ id: set.id, cases: set.cases, unmapped_count: set.unmapped_count }));
      return;
    }
    default:
      console.log('commands: benchmark <id> | compare <id> <a> <b> | list | import-beir <collection_id> <dir> [name]');
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}

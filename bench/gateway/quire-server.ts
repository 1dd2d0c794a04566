/**
 * Quire's gateway as the benchmark runs it: routes (priority with per-target timeouts), metering
 * and the ledger write on. With DATABASE_URL it uses that database server (the deployed shape, see
 * db-server.ts); without, embedded PGlite in this process (so the database's CPU is this process's).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { migrate, openPGlite, openPostgres } from '@quire/db';
import { createGatewayService, createModelCatalog, scopedFetch } from '@quire/gateway';
import { createModelRegistry, createPriceBook } from '@quire/models';
import { createLogger, listen } from '@quire/server-kit';

const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:9';
const logger = createLogger({ bench: 'gateway' }, 'error');
// In-memory by default; BENCH_PGLITE_DISK=1 uses a data folder on disk as the embedded mode does (./.quire).
const dataDir = !process.env.BENCH_PGLITE_DISK ? undefined : mkdtempSync(path.join(os.tmpdir(), 'quire-bench-'));
// The database server was migrated when it started.
const db = process.env.DATABASE_URL ? openPostgres(process.env.DATABASE_URL) : await openPGlite(dataDir ? { dataDir } : {});
if (!process.env.DATABASE_URL) await migrate(db);
const registry = createModelRegistry({ up: { type: 'openai-compatible', baseURL: `${upstream}/v1`, apiKey: 'sk-bench', allowLoopback: true } }, { fetch: scopedFetch });
const priceBook = createPriceBook({
  'up/gpt-4o-mini': { input: '0.15', output: '0.60', asOf: 'bench', source: 'bench' },
  'up/text-embedding-3-small': { input: '0.02', output: '0', asOf: 'bench', source: 'bench' },
});
const routes = `routes:
  chat-default:
    strategy: priority
    targets:
      - { model: up/gpt-4o-mini, timeouts: { connectMs: 5000, firstByteMs: 30000, totalMs: 60000 } }
  embed-default:
    targets: [up/text-embedding-3-small]
`;
// The ledger journal as the embedded mode runs it ($QUIRE_DATA_DIR/ledger-journal); BENCH_LEDGER_SYNC=1 commits every row before answering instead.
const journalDir = process.env.BENCH_LEDGER_SYNC ? undefined : mkdtempSync(path.join(os.tmpdir(), 'quire-bench-journal-'));
// Governance is on as deployed: the bench calls with the bootstrap admin key, captured here instead of printed.
let apiKey = '';
const { handler, ledger, governance } = createGatewayService({
  db, catalog: createModelCatalog(registry, priceBook, logger), logger, internalSecret: 'bench-secret-bench-secret-bench-secret-0',
  upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl: 'http://127.0.0.1:9' }, routes,
  ...(journalDir ? { ledger: { journalDir } } : {}),
  governance: { print: (line) => void (apiKey = /qk_[A-Za-z0-9_-]+/.exec(line)?.[0] ?? apiKey) },
});
await governance.ready;
const server = await listen(handler, 0);
process.stdout.write(`KEY ${apiKey}\nREADY ${server.port}\n`);
process.on('SIGUSR2', () => {
  void ledger.flush().then(() => db.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger')).then((r) => process.stdout.write(`LEDGER ${r.rows[0]!.n}\n`));
});
// BENCH_PROF_FILE: SIGHUP starts a CPU profile (after warm-up, so start-up and migrations stay out of it); SIGTERM writes it.
const profiler = process.env.BENCH_PROF_FILE ? new inspector.Session() : undefined;
if (profiler) {
  profiler.connect();
  process.on('SIGHUP', () => profiler.post('Profiler.enable', () => profiler.post('Profiler.start')));
}
// A clean exit, so that --cpu-prof (BENCH_PROF=1) writes its profile.
process.on('SIGTERM', () => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (journalDir) rmSync(journalDir, { recursive: true, force: true });
  if (!profiler) process.exit(0);
  profiler.post('Profiler.stop', (_err, result) => {
    writeFileSync(process.env.BENCH_PROF_FILE!, JSON.stringify(result.profile));
    process.exit(0);
  });
});

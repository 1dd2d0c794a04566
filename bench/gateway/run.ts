/**
 * `pnpm bench:gateway`: what Quire's gateway costs on the request path, against the same fast upstream
 * called directly, through the thinnest node:http proxy, through the least a metering gateway must do
 * (floor.ts), and through @portkey-ai/gateway. Targets are
 * interleaved phase by phase so that machine noise hits them alike. Every server is its own process;
 * CPU per request comes from /proc/<pid>/stat (utime + stime) over the saturation phase.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openPostgres, openPostgresTestDatabase } from '@quire/db';
import { freePort } from '@quire/fakes';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const SAT_MS = Number(process.env.BENCH_SAT_MS ?? 2000);
// Long enough for V8 to finish optimising the hot path: after 0.5 s, optimising compiles still took a fifth of Quire's CPU.
const WARM_MS = Number(process.env.BENCH_WARM_MS ?? 3000);
const OPEN_MS = Number(process.env.BENCH_OPEN_MS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** Interleaved saturation rounds per workload; the tables show each figure's median. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const RATES = [200, 500];
const TICK_HZ = 100; // getconf CLK_TCK on Linux

interface Proc {
  child: ChildProcess;
  port: number;
  out?: string;
}

function start(name: string, args: string[], env: Record<string, string> = {}, ready = /READY (\d+)/): Promise<Proc> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (data: Buffer) => {
      out += data.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, port: Number(m[1]), out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${out.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`${name} did not start: ${out.slice(-2000)}`)), 30_000).unref();
  });
}

/** Portkey prints no port in headless mode: start it on a free port and poll until it answers. */
async function startPortkey(): Promise<Proc> {
  const port = await freePort();
  const args = ['--import', path.join(here, 'portkey-patch.mjs'), path.join(root, 'node_modules/@portkey-ai/gateway/build/start-server.js'), `--port=${port}`, '--headless'];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, NODE_ENV: 'production' }, stdio: 'ignore' });
  for (let i = 0; i < 300; i++) {
    const up = await new Promise<boolean>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/' }, (res) => { res.resume(); resolve(true); }).on('error', () => resolve(false));
    });
    if (up) return { child, port };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('portkey did not start');
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK_HZ; // utime, stime (fields 14, 15)
}

type Workload = 'chat' | 'stream' | 'embed';
interface Target {
  name: string;
  port: number;
  pid: number | undefined;
  /** CPU seconds used so far by the database server this target writes to, when it runs in processes of its own. */
  dbCpu?: (() => Promise<number>) | undefined;
  body(w: Workload): string;
  path(w: Workload): string;
  headers: Record<string, string>;
  /** The workloads it serves, when not all (the lane yardstick serves chat only). */
  only?: Workload[];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const messages = [{ role: 'user', content: 'Say hello to the benchmark.' }];
const upstreamBody = (w: Workload, chatModel: string, embedModel: string) =>
  JSON.stringify(
    w === 'embed'
      ? { model: embedModel, input: 'The quick brown fox jumps over the lazy dog.' }
      : { model: chatModel, messages, ...(w === 'stream' ? { stream: true, stream_options: { include_usage: true } } : {}) },
  );

function once(t: Target, w: Workload, body: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: t.port, path: t.path(w), method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...t.headers } },
      (res) => {
        let size = 0;
        res.on('data', (c: Buffer) => (size += c.length));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${t.name} ${w}: HTTP ${res.statusCode}`));
          else if (size === 0) reject(new Error(`${t.name} ${w}: empty body`));
          else {
            answered[t.name] = (answered[t.name] ?? 0) + 1;
            resolve(performance.now() - started);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** 200 responses per target, to check that Quire's ledger holds one row per answered request. */
const answered: Record<string, number> = {};

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const quantile = (sorted: number[], q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);

async function closedLoop(t: Target, w: Workload, ms: number) {
  const body = t.body(w);
  const cpu0 = t.pid ? cpuSeconds(t.pid) : 0;
  const db0 = t.dbCpu ? await t.dbCpu() : 0;
  const started = performance.now();
  let done = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() - started < ms) {
        try {
          await once(t, w, body);
          done++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = t.pid ? cpuSeconds(t.pid) - cpu0 : NaN;
  const dbCpu = t.dbCpu ? (await t.dbCpu()) - db0 : NaN;
  return { rps: done / seconds, errors, cpuPerReqUs: (cpu / Math.max(1, done)) * 1e6, dbCpuPerReqUs: (dbCpu / Math.max(1, done)) * 1e6 };
}

async function openLoop(t: Target, w: Workload, rate: number, ms: number) {
  const body = t.body(w);
  const cpu0 = t.pid ? cpuSeconds(t.pid) : 0;
  const latencies: number[] = [];
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - started;
      const due = Math.min(Math.floor((elapsed / 1000) * rate), Math.floor((ms / 1000) * rate));
      while (sent < due) {
        sent++;
        inflight.push(once(t, w, body).then((l) => void latencies.push(l), () => void errors++));
      }
      if (elapsed >= ms) resolve();
      else setImmediate(tick);
    };
    tick();
  });
  await Promise.all(inflight);
  const cpu = t.pid ? cpuSeconds(t.pid) - cpu0 : NaN;
  latencies.sort((a, b) => a - b);
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), n: latencies.length, errors, cpuPerReqUs: (cpu / Math.max(1, latencies.length)) * 1e6 };
}

/** The database server Quire's deployed shape writes to, and how much CPU it has used. */
async function benchDatabase(tsx: string[]): Promise<{ url: string; cpu: () => Promise<number>; close(): Promise<void> }> {
  const adminUrl = process.env.BENCH_DATABASE_URL;
  if (!adminUrl) {
    const server = await start('db-server', [...tsx, path.join(here, 'db-server.ts')]);
    return {
      url: `postgres://postgres@127.0.0.1:${server.port}/postgres`,
      cpu: async () => cpuSeconds(server.child.pid!),
      close: async () => void server.child.kill('SIGTERM'),
    };
  }
  const db = await openPostgresTestDatabase(adminUrl);
  const admin = openPostgres(adminUrl, { max: 1 });
  const name = new URL(db.connectionString).pathname.slice(1);
  return {
    url: db.connectionString,
    // The backends serving that database (the gateway's pool keeps its connections while under load).
    cpu: async () => {
      const pids = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
      return pids.rows.reduce((sum, r) => sum + (() => { try { return cpuSeconds(r.pid); } catch { return 0; } })(), 0);
    },
    async close() {
      await admin.close();
      await db.close();
    },
  };
}

async function main() {
  const tsx = ['--import', 'tsx'];
  const upstream = await start('upstream', [...tsx, path.join(here, 'upstream.ts')]);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  // Quire as deployed (gateway + database server) and embedded (PGlite inside the gateway process). The
  // server is PostgreSQL with pgvector when BENCH_DATABASE_URL names one (a fresh database is cloned
  // there), else PGlite behind pglite-socket in its own process.
  const database = await benchDatabase(tsx);
  const prof = (name: string) => (process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=/tmp/quire-prof/${name}`] : []);
  const [passthrough, floor, quire, embedded, portkey] = await Promise.all([
    start('passthrough', [...tsx, path.join(here, 'passthrough.ts')], { UPSTREAM_URL: upstreamUrl }),
    start('floor', [...tsx, path.join(here, 'floor.ts')], { UPSTREAM_URL: upstreamUrl }),
    start('quire', [...tsx, ...prof('quire'), path.join(here, 'quire-server.ts')], { UPSTREAM_URL: upstreamUrl, DATABASE_URL: database.url }),
    start('quire-embedded', [...tsx, ...prof('embedded'), path.join(here, 'quire-server.ts')], { UPSTREAM_URL: upstreamUrl }),
    startPortkey(),
  ]);
  // BENCH_LANE=1: the one-pass yardstick (lane.ts) too, on a database of its own so the ledger check stays Quire's.
  const laneDb = process.env.BENCH_LANE ? await benchDatabase(tsx) : undefined;
  const lane = laneDb ? await start('lane', [...tsx, path.join(here, 'lane.ts')], { UPSTREAM_URL: upstreamUrl, DATABASE_URL: laneDb.url }) : undefined;
  const keyOf = (p: Proc) => ({ authorization: `Bearer ${/KEY (\S+)/.exec(p.out ?? '')?.[1] ?? ''}` });
  const plain = (w: Workload) => (w === 'embed' ? '/v1/embeddings' : '/v1/chat/completions');
  const allTargets: Target[] = [
    { name: 'direct', port: upstream.port, pid: undefined, path: plain, headers: {}, body: (w) => upstreamBody(w, 'gpt-4o-mini', 'text-embedding-3-small') },
    { name: 'passthrough', port: passthrough.port, pid: passthrough.child.pid, path: plain, headers: {}, body: (w) => upstreamBody(w, 'gpt-4o-mini', 'text-embedding-3-small') },
    { name: 'floor', port: floor.port, pid: floor.child.pid, path: plain, headers: { authorization: 'Bearer floor-key' }, body: (w) => upstreamBody(w, 'gpt-4o-mini', 'text-embedding-3-small') },
    { name: 'quire', port: quire.port, pid: quire.child.pid, dbCpu: database.cpu, path: plain, body: (w) => upstreamBody(w, 'chat-default', 'embed-default'), headers: keyOf(quire) },
    { name: 'quire-embedded', port: embedded.port, pid: embedded.child.pid, path: plain, body: (w) => upstreamBody(w, 'chat-default', 'embed-default'), headers: keyOf(embedded) },
    {
      name: 'portkey', port: portkey.port, pid: portkey.child.pid, path: plain,
      headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstreamUrl}/v1`, authorization: 'Bearer sk-bench' },
      body: (w) => upstreamBody(w, 'gpt-4o-mini', 'text-embedding-3-small'),
    },
  ];
  if (lane) {
    allTargets.splice(5, 0, { name: 'lane', port: lane.port, pid: lane.child.pid, path: plain, body: (w) => upstreamBody(w, 'chat-default', 'embed-default'), headers: keyOf(lane), only: ['chat'] });
  }
  const results: Record<string, Record<string, Record<string, number>>> = {};
  const put = (w: string, t: string, values: Record<string, number>) => {
    results[w] ??= {};
    results[w][t] = { ...results[w][t], ...values };
  };
  const workloads = (process.env.BENCH_WORKLOADS ?? 'chat,stream,embed').split(',') as Workload[];
  for (const w of workloads) {
    const targets = allTargets.filter((t) => !t.only || t.only.includes(w));
    for (const t of targets) await closedLoop(t, w, WARM_MS); // warm-up (JIT, sockets)
    // Rounds interleave the targets again and again, and each figure is the median of its rounds: one
    // window per target let a burst of machine noise move a ratio by 15%.
    const rounds: Record<string, Awaited<ReturnType<typeof closedLoop>>[]> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of targets) {
        const r = await closedLoop(t, w, SAT_MS);
        (rounds[t.name] ??= []).push(r);
        const db = t.dbCpu ? ` (+ ${r.dbCpuPerReqUs.toFixed(0)} µs in the database server)` : '';
        process.stderr.write(`${w} ${t.name} saturation round ${round}: ${r.rps.toFixed(0)} req/s, ${r.cpuPerReqUs.toFixed(0)} µs CPU/req${db}, ${r.errors} errors\n`);
      }
    }
    for (const t of targets) {
      const rs = rounds[t.name]!;
      const ratios = (key: 'rps' | 'cpuPerReqUs', base: string) => rs.map((r, i) => r[key] / rounds[base]![i]![key]);
      put(w, t.name, {
        rps: median(rs.map((r) => r.rps)), cpuPerReqUs: median(rs.map((r) => r.cpuPerReqUs)), dbCpuPerReqUs: median(rs.map((r) => r.dbCpuPerReqUs)),
        satErrors: rs.reduce((n, r) => n + r.errors, 0),
        // Per-round ratios against the round's own passthrough and Portkey windows, for the spread.
        cpuRatioMin: Math.min(...ratios('cpuPerReqUs', 'passthrough')), cpuRatioMax: Math.max(...ratios('cpuPerReqUs', 'passthrough')),
        rpsRatioMin: Math.min(...ratios('rps', 'portkey')), rpsRatioMax: Math.max(...ratios('rps', 'portkey')),
      });
    }
    // CPU per request depends on the request rate, not only on the work a request needs: a process that
    // answers fewer requests a second sleeps between them more often, and every write that wakes an idle
    // peer (the upstream, the client) costs the writer. So each proxy is also measured at one common
    // rate, 80% of the slower Quire's saturation, where every target keeps up.
    const common = Math.round(0.8 * Math.min(results[w]!.quire!.rps!, results[w]!['quire-embedded']!.rps!));
    for (const t of targets.filter((x) => x.pid && x.name !== 'portkey')) {
      const r = await openLoop(t, w, common, SAT_MS);
      put(w, t.name, { commonRate: common, cpuAtCommonUs: r.cpuPerReqUs, errors_common: r.errors });
      process.stderr.write(`${w} ${t.name} @${common}/s (common rate): ${r.cpuPerReqUs.toFixed(0)} µs CPU/req, p50 ${r.p50.toFixed(2)} ms (${r.n} ok, ${r.errors} errors)\n`);
    }
    for (const rate of RATES) {
      for (const t of targets) {
        const r = await openLoop(t, w, rate, OPEN_MS);
        put(w, t.name, { [`p50_${rate}`]: r.p50, [`p99_${rate}`]: r.p99, [`errors_${rate}`]: r.errors });
        process.stderr.write(`${w} ${t.name} @${rate}/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms (${r.n} ok, ${r.errors} errors)\n`);
      }
    }
  }
  const ledgerRows = (p: Proc) =>
    new Promise<string>((resolve) => {
      p.child.stdout!.on('data', (d: Buffer) => {
        const m = /LEDGER (.+)/.exec(d.toString());
        if (m) resolve(m[1]!);
      });
      p.child.kill('SIGUSR2');
      setTimeout(() => resolve('?'), 3000).unref();
    });
  const ledger = await ledgerRows(quire);
  const ledgerEmbedded = await ledgerRows(embedded);
  for (const p of [upstream, passthrough, floor, quire, embedded, portkey, ...(lane ? [lane] : [])]) p.child.kill('SIGTERM');
  await database.close();
  await laneDb?.close();

  const lines: string[] = [];
  const fmt = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(d));
  lines.push(`machine: ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  lines.push(`saturation: closed loop, ${CONCURRENCY} concurrent, ${ROUNDS} interleaved rounds of ${SAT_MS / 1000}s per target (medians) after ${WARM_MS / 1000}s of warm-up; open loop ${OPEN_MS / 1000}s per rate; ledger rows written by Quire: ${ledger} (requests it answered: ${answered.quire ?? 0}), embedded: ${ledgerEmbedded} (answered: ${answered['quire-embedded'] ?? 0})`);
  if (lane) lines.push('lane: the one-pass yardstick (lane.ts: the floor plus Quire\'s key check, admission, request and answer validation, route lookup, pricing and ledger; no attempt loop), chat only, on a database of its own.');
  lines.push('floor: the least a metering gateway does (floor.ts: parse, key lookup, forward, parse the usage, journal line, answer), no validation, routing, governance or database.');
  lines.push(
    process.env.BENCH_DATABASE_URL
      ? 'quire: gateway process + PostgreSQL 15 with pgvector (BENCH_DATABASE_URL; the CPU of the backends serving its database is the DB column), as docker-compose runs it; quire-embedded: PGlite inside the gateway process (`pnpm start`).'
      : 'quire: gateway process + a database server process (PGlite over the PostgreSQL wire protocol, standing in for docker-compose\'s PostgreSQL); quire-embedded: PGlite inside the gateway process (`pnpm start`).',
  );
  lines.push('');
  lines.push('| workload | target | req/s (sat.) | CPU µs/req | DB process CPU µs/req | p50 @200 | p99 @200 | p50 @500 | p99 @500 | errors |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const w of workloads) {
    for (const t of allTargets.filter((x) => !x.only || x.only.includes(w))) {
      const r = results[w]![t.name]!;
      const errors = (r.satErrors ?? 0) + (r.errors_200 ?? 0) + (r.errors_500 ?? 0) + (r.errors_common ?? 0);
      lines.push(`| ${w} | ${t.name} | ${fmt(r.rps)} | ${t.pid ? fmt(r.cpuPerReqUs) : 'n/a'} | ${t.dbCpu ? fmt(r.dbCpuPerReqUs) : 'n/a'} | ${fmt(r.p50_200, 2)} | ${fmt(r.p99_200, 2)} | ${fmt(r.p50_500, 2)} | ${fmt(r.p99_500, 2)} | ${errors} |`);
    }
  }
  lines.push('');
  lines.push('| workload | Quire | gateway CPU/req ÷ passthrough (target ≤ 2) | rounds\' range | with the DB process\'s CPU | floor ÷ passthrough | req/s ÷ Portkey (target ≥ 4) | rounds\' range | added p50 @200 ms (target ≤ 1) |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const w of workloads) {
    const r = results[w]!;
    for (const name of ['quire', 'quire-embedded', 'lane'].filter((n) => r[n])) {
      const q = r[name]!;
      const withDb = name === 'quire' ? fmt((q.cpuPerReqUs! + q.dbCpuPerReqUs!) / r.passthrough!.cpuPerReqUs!, 2) : 'n/a';
      const range = (lo: number | undefined, hi: number | undefined) => `${fmt(lo, 2)}-${fmt(hi, 2)}`;
      lines.push(
        `| ${w} | ${name} | ${fmt(q.cpuPerReqUs! / r.passthrough!.cpuPerReqUs!, 2)} | ${range(q.cpuRatioMin, q.cpuRatioMax)} | ${withDb} | ${fmt(r.floor!.cpuPerReqUs! / r.passthrough!.cpuPerReqUs!, 2)} | ${fmt(q.rps! / r.portkey!.rps!, 2)} | ${range(q.rpsRatioMin, q.rpsRatioMax)} | ${fmt(q.p50_200! - r.direct!.p50_200!, 2)} |`,
      );
    }
  }
  lines.push('');
  lines.push('CPU per request at one common open-loop rate (80% of the slower Quire\'s saturation), where no target is saturated; not the target\'s measure, which compares each proxy at its own saturation:');
  lines.push('');
  lines.push('| workload | rate req/s | passthrough µs/req | floor µs/req | quire µs/req | quire-embedded µs/req | quire ÷ passthrough | quire-embedded ÷ passthrough |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const w of workloads) {
    const r = results[w]!;
    const at = (name: string) => r[name]!.cpuAtCommonUs!;
    lines.push(`| ${w} | ${fmt(r.quire!.commonRate)} | ${fmt(at('passthrough'))} | ${fmt(at('floor'))} | ${fmt(at('quire'))} | ${fmt(at('quire-embedded'))} | ${fmt(at('quire') / at('passthrough'), 2)} | ${fmt(at('quire-embedded') / at('passthrough'), 2)} |`);
  }
  const report = lines.join('\n');
  process.stdout.write(`${report}\n`);
  writeFileSync(path.join(here, 'last-run.md'), `${report}\n`);
}

await main();
process.exit(0);

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openPostgres, startSocketTestDatabase, type Db, type SocketTestDatabase } from '@quire/db';
import { createFakeGatewayModels } from '@quire/fakes';
import { createLogger, listen, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from '../../services/ingestion/src/index.js';
import { client, TEST_SECRET } from '../../services/ingestion/src/testing/http.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const QUEUE = `kill-test-${randomUUID()}`;
let shared: SocketTestDatabase;
let db: Db;
let api: IngestionService;
let server: RunningServer;
const workers: ChildProcess[] = [];
let databaseUrl: string;

function startWorker(staleAfterMs: number): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/ingestion/ingest-worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: databaseUrl, REDIS_URL: 'redis://127.0.0.1:6379', QUEUE, QUIRE_INTERNAL_SECRET: TEST_SECRET, EMBED_LATENCY_MS: '1000', STALE_AFTER_MS: String(staleAfterMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        if (line === 'ready') resolve({ child, lines });
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${stderr}`)));
  });
}

beforeAll(async () => {
  shared = await startSocketTestDatabase();
  databaseUrl = shared.url;
  db = openPostgres(databaseUrl, { max: 2 });
  // The API process accepts uploads and enqueues; it runs no jobs itself (start() is not called).
  api = await createIngestionService({ db, models: createFakeGatewayModels({ dimensions: 32, maxEmbeddingsPerCall: 4 }), logger: createLogger({}, 'error'), internalSecret: TEST_SECRET, redisUrl: 'redis://127.0.0.1:6379', queueName: QUEUE });
  server = await listen(api.app, 0);
}, 60_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await server?.close();
  await api?.stop();
  await db?.close();
  await shared?.stop();
});

test('a worker killed with SIGKILL mid-embedding leaves no partial chunks; another worker completes the document once', async () => {
  const http = client(server.url);
  const coll = await http.createCollection({ name: 'Kill', embedding_model: 'openai/small', chunking: { strategy: 'recursive', chunk_size: 120, chunk_overlap: 0 } });
  // Worker A never judges its own job stale (a loaded machine can delay its heartbeats); B takes over fast.
  const a = await startWorker(60_000);
  const text = Array.from({ length: 60 }, (_, i) => `Line ${i}: the planted sentence number ${i} about kill tests.`).join('\n\n');
  const up = await http.call(`/v1/collections/${coll.id}/documents`, { json: { text } });
  expect(up.status).toBe(202);
  const id = up.body.documents[0].id as string;

  // Kill worker A without warning once it has finished its first embedding batch (15 batches of 1 s each).
  const deadline = Date.now() + 60_000;
  while (!a.lines.some((l) => l.startsWith(`embed ${id}`)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const mid = await http.call(`/v1/documents/${id}`);
  expect(mid.status).toBe(200);
  expect(mid.body.progress.stage).toBe('embedding');
  expect(mid.body.progress.chunks_embedded).toBeLessThan(mid.body.progress.chunks_total);
  a.child.kill('SIGKILL');
  await new Promise((resolve) => a.child.once('exit', resolve));
  const partial = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunks WHERE document_id = $1`, [id]);
  expect(partial.rows[0]!.n).toBe(0);
  const embeddedByA = a.lines.filter((l) => l.startsWith('embed ')).length;
  expect(embeddedByA).toBeGreaterThan(0);

  const b = await startWorker(2_000);
  const doc = await http.waitForDocument(id, 45_000);
  expect(doc.status).toBe('ready');
  expect(doc.progress.stalled).toBeNull();
  const rows = await db.query<{ chunks: number; ordinals: number; vectors: number; bad: number }>(
    `SELECT count(*)::int AS chunks, count(DISTINCT ch.ordinal)::int AS ordinals,
            (SELECT count(*)::int FROM chunk_vectors cv JOIN chunks c2 ON c2.id = cv.chunk_id WHERE c2.document_id = $1) AS vectors,
            (SELECT count(*)::int FROM chunk_vectors cv JOIN chunks c2 ON c2.id = cv.chunk_id WHERE c2.document_id = $1 AND vector_dims(cv.embedding) <> 16) AS bad
       FROM chunks ch WHERE ch.document_id = $1`,
    [id],
  );
  expect(rows.rows[0]).toEqual({ chunks: doc.progress.chunks_total, ordinals: doc.progress.chunks_total, vectors: doc.progress.chunks_total, bad: 0 });
  // Batches A finished came from the embedding cache: B called the provider only for the rest.
  const embeddedByB = b.lines.filter((l) => l.startsWith('embed ')).length;
  expect(embeddedByA + embeddedByB).toBeLessThanOrEqual(Math.ceil(doc.progress.chunks_total / 4) + 1);
}, 90_000);

import { randomUUID } from 'node:crypto';
import { HEADERS, type Identity } from '@quire/contracts';
import { openTestDatabase, type Db } from '@quire/db';
import { listen, signIdentity, type Logger, type RunningServer } from '@quire/server-kit';
import { createIngestionService, type IngestionService } from './ingestion-service.js';
import type { IngestionLimits } from './limits.js';
import type { ParsePool } from './parse/parse-pool.js';
import { createFakeGatewayModels } from './testing/fake-gateway-models.js';
import { client, TEAM_B, TEST_SECRET } from './testing/http.js';
import { storeQueuedText } from './testing/queued-document.js';
import { slowChunkingText } from './testing/slow-chunking-text.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';
import { rechunkRound } from './versions/rechunk-round.js';

/**
 * One team cannot starve the others: not of progress streams (each key and each team gets a share of
 * the process's), nor of parse workers (shared in turns between teams).
 */

const member = (team: string, key: string): Identity => ({ team_id: team, key_id: key, role: 'member', groups: [] });
const A1 = member('team-a', 'key-a1');
const A2 = member('team-a', 'key-a2');
const A3 = member('team-a', 'key-a3');
const B1 = member('team-b', 'key-b1');
const C1 = member('team-c', 'key-c1');

/** Warnings and errors, kept for the assertions; debug and info are dropped. */
function recordingLogger() {
  const lines: { level: 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, ...(fields ? { fields } : {}) }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, ...(fields ? { fields } : {}) }),
    child: () => logger,
  };
  return { logger, lines };
}

interface StreamsService {
  db: Db;
  service: IngestionService;
  server: RunningServer;
  lines: ReturnType<typeof recordingLogger>['lines'];
  stop(): Promise<void>;
}

async function startStreamsService(limits: Partial<IngestionLimits>): Promise<StreamsService> {
  const db = await openTestDatabase();
  const { logger, lines } = recordingLogger();
  const service = await createIngestionService({
    db,
    models: createFakeGatewayModels({ dimensions: 32 }).models,
    logger,
    internalSecret: TEST_SECRET,
    limits: { reconcileIntervalMs: 3_600_000, eventsPollMs: 20, eventsKeepAliveMs: 60_000, ...limits },
  });
  await service.start();
  const server = await listen(service.app, 0);
  return {
    db, service, server, lines,
    async stop() {
      await server.close();
      await service.stop();
      await db.close();
    },
  };
}

const openStream = (url: string, documentId: string, identity: Identity, signal?: AbortSignal) =>
  fetch(`${url}/v1/documents/${documentId}/events`, { headers: { [HEADERS.identity]: signIdentity(identity, TEST_SECRET) }, ...(signal ? { signal } : {}) });

/** A queued document of each team, never enqueued: only its stream's end, a status change or a delete moves it. */
async function queuedDocuments(s: StreamsService, topic: string) {
  const api = client(s.server.url);
  const a = await api.createCollection({ name: `A ${topic}`, embedding_model: 'openai/small' });
  const b = await api.createCollection({ name: `B ${topic}`, embedding_model: 'openai/small' }, TEAM_B);
  return { a: (await storeQueuedText(s.db, a.id, `a-${topic}`, 2)).documentId, b: (await storeQueuedText(s.db, b.id, `b-${topic}`, 2)).documentId };
}

async function refusal(res: Response) {
  return { status: res.status, retryAfter: res.headers.get('retry-after'), error: ((await res.json()) as { error: { code: string; message: string } }).error };
}

describe('progress streams: shares per key and per team, the process cap last', () => {
  // One place per key, two per team, three in the process: a probe of a key answers whether its count is zero.
  let s: StreamsService;
  beforeAll(async () => {
    s = await startStreamsService({ eventsMaxStreamMs: 600_000, eventsMaxStreams: 3, eventsMaxStreamsPerTeam: 2, eventsMaxStreamsPerKey: 1 });
  });
  afterAll(() => s?.stop());

  /**
   * Fills every cap exactly: A1's key, team A (A1 + A2, so A3 is refused), and the process (B1 makes
   * three, so C1 is refused). Passes only if every count started at zero. Answers the open streams.
   */
  async function fullRound(url: string, docs: { a: string; b: string }, controller = new AbortController()) {
    const a1 = await openStream(url, docs.a, A1, controller.signal);
    expect(a1.status).toBe(200);
    const again = await refusal(await openStream(url, docs.a, A1));
    expect(again).toEqual({
      status: 429,
      retryAfter: '1',
      error: expect.objectContaining({ code: 'rate_limit_exceeded', message: 'This API key has 1 progress streams open, the most allowed; poll GET /v1/documents/:id instead, or retry once one of them has ended.' }),
    });
    const a2 = await openStream(url, docs.a, A2, controller.signal);
    expect(a2.status).toBe(200);
    expect(await refusal(await openStream(url, docs.a, A3))).toEqual({
      status: 429,
      retryAfter: '1',
      error: expect.objectContaining({ code: 'rate_limit_exceeded', message: 'Your team has 2 progress streams open, the most allowed; poll GET /v1/documents/:id instead, or retry once one of them has ended.' }),
    });
    // Another team still gets a stream while team A is at its share.
    const b1 = await openStream(url, docs.b, B1, controller.signal);
    expect(b1.status).toBe(200);
    expect(await refusal(await openStream(url, docs.b, C1))).toEqual({ status: 503, retryAfter: '1', error: expect.objectContaining({ code: 'service_unavailable' }) });
    return { streams: [a1, a2, b1], controller };
  }

  /** Until each key's count is back to zero: a probe for a missing document is a 404 only with a place free (cap 1). */
  async function allFree() {
    const deadline = Date.now() + 10_000;
    for (const identity of [A1, A2, B1]) {
      for (;;) {
        const probe = await openStream(s.server.url, randomUUID(), identity);
        await probe.text();
        if (probe.status === 404) break;
        // Refused by its key's share, or by the process cap while the others are still counted.
        expect([429, 503]).toContain(probe.status);
        if (Date.now() > deadline) throw new Error(`${identity.key_id} still holds a progress stream`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  const lastEvent = async (res: Response) => {
    const blocks = (await res.text()).split('\n\n').filter((block) => block.trim() !== '');
    return blocks[blocks.length - 1]!;
  };

  test('a key at its share is refused (429) while another team still opens a stream; refusals are warnings, not errors', async () => {
    const docs = await queuedDocuments(s, 'caps');
    const { controller } = await fullRound(s.server.url, docs);
    // Read before allFree: its probes may be refused too while the aborted streams are let go.
    const refused = s.lines.filter((l) => l.msg === 'progress stream refused');
    controller.abort();
    await allFree();
    expect(refused.map((l) => [l.level, l.fields?.cap, l.fields?.key_id])).toEqual([
      ['warn', 'key', 'key-a1'],
      ['warn', 'team', 'key-a3'],
      ['warn', 'process', 'key-c1'],
    ]);
    expect(s.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  test('every way a stream ends gives its places back, exactly once', async () => {
    // The client leaves.
    let docs = await queuedDocuments(s, 'gone');
    (await fullRound(s.server.url, docs)).controller.abort();
    await allFree();

    // The document finishes: `done`.
    let round = await fullRound(s.server.url, docs);
    await s.db.query(`UPDATE documents SET status = 'failed', error_code = 'parse_failed', error_stage = 'parsing', error_message = 'stopped by the test' WHERE id = ANY($1::uuid[])`, [[docs.a, docs.b]]);
    for (const res of round.streams) expect(await lastEvent(res)).toMatch(/^event: done\n/);
    await allFree();

    // The document is deleted.
    docs = await queuedDocuments(s, 'deleted');
    round = await fullRound(s.server.url, docs);
    const api = client(s.server.url);
    expect((await api.call(`/v1/documents/${docs.a}`, { method: 'DELETE' })).status).toBe(200);
    expect((await api.call(`/v1/documents/${docs.b}`, { method: 'DELETE' })).status).toBe(200);
    for (const res of round.streams) expect(await lastEvent(res)).toMatch(/^event: deleted\n/);
    await allFree();

    // The server stops: `reconnect` with reason `shutdown` (a second server on the same app, stopped alone).
    docs = await queuedDocuments(s, 'drain');
    const other = await listen(s.service.app, 0, '127.0.0.1', { drainMs: 10_000 });
    round = await fullRound(other.url, docs);
    await other.close();
    for (const res of round.streams) expect(await lastEvent(res)).toContain('"reason":"shutdown"');
    await allFree();

    // And after all of them, the counts are exact: the caps hold again at the same places.
    (await fullRound(s.server.url, await queuedDocuments(s, 'after'))).controller.abort();
    await allFree();
    expect(s.lines.filter((l) => l.level === 'error')).toEqual([]);
  }, 60_000);
});

describe('progress streams: a team\'s default share is half the process cap', () => {
  let s: StreamsService;
  beforeAll(async () => {
    // As in the security review: only the process cap set. Streams end by their lifetime here.
    s = await startStreamsService({ eventsMaxStreamMs: 2_000, eventsMaxStreams: 4 });
  });
  afterAll(() => s?.stop());

  test('one key cannot take every place; streams that reached their lifetime give theirs back', async () => {
    for (let round = 0; round < 2; round++) {
      const docs = await queuedDocuments(s, `lifetime-${round}`);
      const open = [await openStream(s.server.url, docs.a, A1), await openStream(s.server.url, docs.a, A1)];
      expect(open.map((r) => r.status)).toEqual([200, 200]);
      expect(await refusal(await openStream(s.server.url, docs.a, A1))).toMatchObject({ status: 429, error: { code: 'rate_limit_exceeded', message: expect.stringMatching(/^Your team has 2 progress streams open/) } });
      // Another team's knowledge-admin still follows its own document.
      const other = await openStream(s.server.url, docs.b, TEAM_B);
      expect(other.status).toBe(200);
      open.push(other);
      for (const res of open) expect(await res.text()).toContain('"reason":"max_duration"');
    }
  }, 60_000);
});

describe('parse workers are shared in turns between teams', () => {
  let t: TestIngestion;
  beforeAll(async () => {
    // One worker; a file that parses at once, then chunks until the 1 s deadline stops it.
    t = await startTestIngestion('ingestion-fairness-parse', { parseWorkers: 1, chunkTimeoutMs: 1_000 });
  });
  afterAll(() => t?.stop());

  test('another team\'s one-line file is not queued behind a team\'s backlog of slow files', async () => {
    const slowColl = await t.api.createCollection({ name: 'Slow', embedding_model: 'openai/small', chunking: { strategy: 'tokens', chunk_size: 1000, chunk_overlap: 150 } });
    const quickColl = await t.api.createCollection({ name: 'Quick', embedding_model: 'openai/small' }, TEAM_B);
    const slow = slowChunkingText(3_000_000);
    const backlog = await t.api.upload(slowColl.id, [1, 2, 3].map((n) => ({ name: `slow-${n}.txt`, bytes: `${n} ${slow}`, type: 'text/plain' })));
    expect(backlog.status).toBe(202);
    const quick = await t.api.upload(quickColl.id, [{ name: 'quick.txt', bytes: 'One line of another team.', type: 'text/plain' }], { identity: TEAM_B });
    expect(quick.status).toBe(202);
    const quickId = quick.body.documents[0].id as string;
    expect(await t.api.waitForDocument(quickId, 60_000)).toMatchObject({ status: 'ready' });
    const slowIds = (backlog.body.documents as { id: string }[]).map((d) => d.id);
    for (const id of slowIds) expect(await t.api.waitForDocument(id, 60_000)).toMatchObject({ status: 'failed', error: expect.objectContaining({ code: 'chunk_timeout' }) });
    // One shared FIFO queue would parse the one-line file last, after all three.
    const finished = await t.db.query<{ id: string }>(`SELECT id FROM documents WHERE id = ANY($1::uuid[]) ORDER BY updated_at`, [[...slowIds, quickId]]);
    expect(finished.rows.map((r) => r.id).indexOf(quickId)).toBeLessThan(3);
  }, 120_000);

  test('a re-chunking round parses in the turns of the collection\'s team', async () => {
    const coll = await t.api.createCollection({ name: 'Rechunk', embedding_model: 'openai/small' }, TEAM_B);
    const up = await t.api.upload(coll.id, [{ name: 'doc.txt', bytes: 'A document to re-chunk, owned by team B.', type: 'text/plain' }], { identity: TEAM_B });
    expect(await t.api.waitForDocument(up.body.documents[0].id, 30_000)).toMatchObject({ status: 'ready' });
    const tenants: (string | undefined)[] = [];
    const parsePool = {
      parseAndChunk: async (_bytes: Uint8Array, _mime: string, _chunking: unknown, hooks?: { tenant?: string }) => {
        tenants.push(hooks?.tenant);
        return { chunks: [], pagesTotal: null, scannedPages: [], warnings: [], hasText: true };
      },
    } as unknown as ParsePool;
    // A version that is not building: the round parses, then writes nothing.
    const pending = await rechunkRound(
      { db: t.db, parsePool, maxChunks: 100 },
      { collectionId: coll.id, versionId: randomUUID(), holder: 'test', chunking: { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 }, embed: async () => ({ vectors: [], dimensions: 32 }), documents: 10 },
    );
    expect(pending).toBe(1);
    expect(tenants).toEqual([TEAM_B.team_id]);
  });
});

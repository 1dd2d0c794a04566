import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { createModelRegistry, createPriceBook } from '@quire/models';
import { listen } from '@quire/server-kit';
import { createGatewayService } from './gateway-service.js';
import { createModelCatalog } from './model-catalog.js';
import { scopedFetch } from './routing/attempt-timer.js';
import { ADMIN_AUTH, ledgerFor, logger, SECRET, TEST_ADMIN_KEY } from './testing/gateway-harness.js';

/**
 * The gateway's stop, in the order main.ts runs it: the HTTP server drains, then the ledger flushes,
 * then the database closes. A model call in flight when the stop begins is answered in full and metered.
 */
let db: Db;
let slow: FakeOpenAI;
let journalDir: string;

beforeAll(async () => {
  [db, slow] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test', latencyMs: 1_500, reply: () => 'the whole slow answer' })]);
  journalDir = mkdtempSync(path.join(os.tmpdir(), 'quire-graceful-stop-'));
});
afterAll(async () => {
  await slow?.close();
  await db?.close();
  rmSync(journalDir, { recursive: true, force: true });
});

test('a slow model call in flight when the gateway stops gets its whole answer, and its ledger row is committed', async () => {
  const registry = createModelRegistry({ slow: { type: 'openai-compatible', baseURL: slow.url, apiKey: 'sk-test', allowLoopback: true } }, { fetch: scopedFetch });
  const { handler, ledger, governance } = createGatewayService({
    db, catalog: createModelCatalog(registry, createPriceBook({}), logger), logger, internalSecret: SECRET,
    upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl: 'http://127.0.0.1:9' }, routesFile: null,
    // With a journal the response does not wait for the INSERT: only the ledger's close commits the row.
    ledger: { journalDir, flushDelayMs: 60_000 },
    governance: { adminKey: TEST_ADMIN_KEY },
  });
  await governance.ready;
  const server = await listen(handler, 0, '127.0.0.1', { drainMs: 10_000 });
  const traceId = `stop-${Date.now()}`;
  const answer = fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': traceId, ...ADMIN_AUTH },
    body: JSON.stringify({ model: 'slow/m', messages: [{ role: 'user', content: 'hello' }] }),
  });
  for (let i = 0; i < 200 && slow.requests.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(slow.requests).toHaveLength(1);

  await server.close();
  await ledger.close();
  await governance.close();

  const res = await answer;
  expect(res.status).toBe(200);
  const body = (await res.json()) as { choices: { message: { content: string } }[] };
  expect(body.choices[0]!.message.content).toBe('the whole slow answer');
  expect(await ledgerFor(db, traceId)).toEqual([expect.objectContaining({ status: 'ok', provider: 'slow', model: 'm' })]);
});

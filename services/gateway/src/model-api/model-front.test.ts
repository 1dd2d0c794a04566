import { gzipSync } from 'node:zlib';
import type { Db } from '@quire/db';
import type { FakeOpenAI } from '@quire/fakes';
import type { RunningServer } from '@quire/server-kit';
import type { GatewayService } from '../gateway-service.js';
import { startBothDoors, type BothDoors } from '../testing/both-doors.js';
import { ADMIN_AUTH } from '../testing/gateway-harness.js';

let db: Db;
let openai: FakeOpenAI;
let service: GatewayService;
let front: RunningServer;
let viaExpress: RunningServer;

let doors: BothDoors;

beforeAll(async () => {
  doors = await startBothDoors();
  ({ db, openai, service, front, viaExpress } = doors);
});

afterAll(() => doors?.close());

const chat = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] };
const send = (server: RunningServer, path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...ADMIN_AUTH, ...headers }, body });

async function ledgerRows(traceId: string) {
  await service.ledger.flush();
  return (await db.query<{ status: string; model: string; cost_usd: string }>(`SELECT status, model, cost_usd::text AS cost_usd FROM usage_ledger WHERE trace_id = $1`, [traceId])).rows;
}

describe('the model front (node:http) and the express routes are one model API', () => {
  test('chat and embeddings answer the same through both doors, each metered once', async () => {
    for (const [name, server] of [['front', front], ['express', viaExpress]] as const) {
      const res = await send(server, '/v1/chat/completions', JSON.stringify(chat), { 'x-request-id': `front-chat-${name}` });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe(`front-chat-${name}`);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const body = (await res.json()) as { object: string; model: string; choices: { message: { role: string } }[]; usage: { total_tokens: number } };
      expect(body).toMatchObject({ object: 'chat.completion', model: 'openai/gpt-4o-mini', choices: [{ message: { role: 'assistant' } }] });
      expect(body.usage.total_tokens).toBeGreaterThan(0);
      expect(await ledgerRows(`front-chat-${name}`)).toEqual([expect.objectContaining({ status: 'ok', model: 'gpt-4o-mini' })]);

      const emb = await send(server, '/v1/embeddings', JSON.stringify({ model: 'openai/text-embedding-3-small', input: ['a', 'b'] }), { 'x-request-id': `front-emb-${name}` });
      const embBody = (await emb.json()) as { data: { index: number; embedding: number[] }[] };
      expect(embBody.data.map((d) => d.index)).toEqual([0, 1]);
      expect(embBody.data[0]!.embedding.length).toBeGreaterThan(0);
      expect(await ledgerRows(`front-emb-${name}`)).toHaveLength(1);
    }
  });

  test('a gzip body or a non-JSON content type is handed to express, which answers as before', async () => {
    const gz = await send(front, '/v1/chat/completions', gzipSync(JSON.stringify(chat)), { 'content-encoding': 'gzip', 'x-request-id': 'front-gzip' });
    expect(gz.status).toBe(200);
    expect(await ledgerRows('front-gzip')).toHaveLength(1);
    const text = await send(front, '/v1/chat/completions', JSON.stringify(chat), { 'content-type': 'text/plain' });
    expect(text.status).toBe(400);
    expect(((await text.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });

  test('bad JSON is 400 invalid_json, a body over the limit is 413 before it is read, and no provider is called', async () => {
    const before = openai.requests.length;
    const bad = await send(front, '/v1/chat/completions', '{"model": ');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    const big = await send(front, '/v1/embeddings', JSON.stringify({ model: 'openai/text-embedding-3-small', input: 'x'.repeat(21 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    expect(openai.requests.length).toBe(before);
  });

  test('a refused key is 401 and lands in the audit log with the model it asked for', async () => {
    const res = await send(front, '/v1/chat/completions', JSON.stringify(chat), { authorization: 'Bearer qk_live_nope', 'x-request-id': 'front-refused' });
    expect(res.status).toBe(401);
    await service.governance.audit.flush();
    const rows = await db.query<{ code: string; details: { model?: string } }>(`SELECT code, details FROM audit_log WHERE request_id = 'front-refused'`);
    expect(rows.rows).toEqual([expect.objectContaining({ code: 'invalid_api_key', details: expect.objectContaining({ model: 'openai/gpt-4o-mini' }) })]);
  });
});

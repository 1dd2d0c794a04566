import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { ADMIN_AUTH, identityHeader, startHarness, type Harness } from '../testing/gateway-harness.js';

/**
 * The services sign model calls for a key long after it authenticated (background ingestion of what
 * it uploaded, index versions and benchmark runs it started). Once the key is revoked those calls
 * are refused (401 `api_key_revoked`, not retryable, so the job records it as it does a budget
 * refusal) before any provider is called; identities of no key row (the services' own) still work.
 */
let db: Db;
let fake: FakeOpenAI;
let gateway: Harness;

beforeAll(async () => {
  [db, fake] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test' })]);
  gateway = await startHarness(db, { providers: { openai: fake.url }, prices: { 'openai/gpt-4o-mini': { input: '1', output: '2' } } });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  await db?.close();
});

const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${gateway.url}${path}`, { method, headers: { 'content-type': 'application/json', ...ADMIN_AUTH }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const chat = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Hello there' }] };

test('a revoked key\'s signed background calls are refused with api_key_revoked before any provider call', async () => {
  expect((await admin('POST', '/v1/teams', { id: 'rk', name: 'rk' })).status).toBe(201);
  const created = await admin('POST', '/v1/keys', { team_id: 'rk', name: 'uploader', role: 'knowledge-admin' });
  expect(created.status).toBe(201);
  const keyId = ((await created.json()) as { id: string }).id;
  const asKey = identityHeader({ team_id: 'rk', key_id: keyId, role: 'knowledge-admin' });

  expect((await gateway.post('/v1/chat/completions', chat, asKey)).status).toBe(200);
  expect((await gateway.post('/v1/internal/budget-check', { estimated_usd: '0' }, asKey)).status).toBe(200);

  expect((await admin('POST', `/v1/keys/${keyId}/revoke`)).status).toBe(200);
  const providerCalls = fake.requests.length;
  const refused = await gateway.post('/v1/chat/completions', chat, asKey);
  expect(refused.status).toBe(401);
  const body = (await refused.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('api_key_revoked');
  expect(body.error.message).toContain(keyId);
  const check = await gateway.post('/v1/internal/budget-check', { estimated_usd: '0' }, asKey);
  expect([check.status, ((await check.json()) as { error: { code: string } }).error.code]).toEqual([401, 'api_key_revoked']);
  expect(fake.requests.length).toBe(providerCalls);

  // The services' own identities (no key row) are not affected.
  expect((await gateway.post('/v1/chat/completions', chat, identityHeader({ team_id: 'rk', key_id: 'index-builder', role: 'service' }))).status).toBe(200);
});

import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { startHarness, type Harness } from '../../services/gateway/src/testing/gateway-harness.js';
import { call, chat, teamKey } from './helpers.js';

/**
 * The admin API and /v1/usage as admins use them: a parameter a list does not take is refused (never
 * ignored, answering unfiltered data), usage counts requests the gateway can tell apart, and keys are
 * created and rotated only when they can work.
 */
let db: Db;
let fake: FakeOpenAI;
let gw: Harness;

beforeAll(async () => {
  [db, fake] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test' })]);
  gw = await startHarness(db, { providers: { primary: fake.url }, prices: { 'primary/gpt-4o-mini': { input: '1', output: '2' } } });
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
  await db?.close();
});

describe('unknown query parameters', () => {
  test.each([
    ['/v1/teams?team=a', 'team'],
    ['/v1/keys?teams=a', 'teams'],
    ['/v1/budgets?team=a', 'team'],
    ['/v1/audit?since=2999-01-01', 'since'],
    ['/v1/usage?group_by=team&team_id=team-a', 'team_id'],
    ['/v1/usage?since=2999-01-01', 'since'],
  ])('GET %s is a 400 naming %s', async (path, param) => {
    const res = await call(gw.url, 'GET', path);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', param });
    expect(res.body.error.message).toContain(`'${param}'`);
  });

  test('GET /v1/keys filters by team_id (the field a key shows) as by team; the two must agree', async () => {
    await teamKey(gw.url, 'keys-a', 'member');
    await teamKey(gw.url, 'keys-b', 'member');
    for (const q of ['team_id=keys-a', 'team=keys-a', 'team=keys-a&team_id=keys-a']) {
      const res = await call(gw.url, 'GET', `/v1/keys?${q}`);
      expect(res.status).toBe(200);
      expect(res.body.data.map((k: { team_id: string }) => k.team_id)).toEqual(['keys-a']);
    }
    const both = await call(gw.url, 'GET', '/v1/keys?team=keys-a&team_id=keys-b');
    expect(both.status).toBe(400);
    expect(both.body.error).toMatchObject({ code: 'invalid_request', param: 'team_id' });
    expect((await call(gw.url, 'GET', '/v1/keys?team_id=Not%20A%20Team')).status).toBe(400);
  });
});

test("usage counts each call as a request, even when callers reuse an x-request-id (one key's, or two teams')", async () => {
  const a = await teamKey(gw.url, 'rid-a', 'member');
  const b = await teamKey(gw.url, 'rid-b', 'member');
  for (const auth of [a.auth, b.auth, b.auth]) {
    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), auth, { 'x-request-id': 'fixed-1' })).status).toBe(200);
  }
  const byKey = await call(gw.url, 'GET', `/v1/usage?key=${b.id}`);
  expect(byKey.body.totals).toMatchObject({ requests: 2, attempts: 2 });
  const both = await call(gw.url, 'GET', '/v1/usage?model=primary/gpt-4o-mini');
  expect(both.body.totals.requests).toBeGreaterThanOrEqual(3);
  const rows = await db.query<{ request_id: string | null }>(`SELECT request_id FROM usage_ledger WHERE trace_id = 'fixed-1'`);
  expect(new Set(rows.rows.map((r) => r.request_id)).size).toBe(3);
  expect(rows.rows.every((r) => r.request_id !== null)).toBe(true);
});

test('rows without a request id (written before it was recorded) count by key and trace id', async () => {
  const insert = (key: string, trace: string) =>
    db.query(
      `INSERT INTO usage_ledger (trace_id, team_id, key_id, purpose, capability, provider, model, attempt, stream, status, input_tokens, output_tokens, usage_reported, cost_usd, latency_ms)
       VALUES ($1, 'old-team', $2, 'api', 'chat', 'primary', 'old-model', 0, false, 'ok', 1, 1, true, 0.000001, 5)`,
      [trace, key],
    );
  // One request of key-1 with a retry, and key-2's request that reused its trace id.
  await insert('old-key-1', 'old-trace');
  await insert('old-key-1', 'old-trace');
  await insert('old-key-2', 'old-trace');
  const res = await call(gw.url, 'GET', '/v1/usage?team=old-team&group_by=key');
  expect(res.status).toBe(200);
  expect(res.body.data.map((r: { key: string; requests: number; attempts: number }) => [r.key, r.requests, r.attempts])).toEqual([
    ['old-key-1', 1, 2],
    ['old-key-2', 1, 1],
  ]);
  expect((await call(gw.url, 'GET', '/v1/usage?team=old-team')).body.totals).toMatchObject({ requests: 2, attempts: 3 });
});

describe('keys that could not work', () => {
  test('creating a key that has already expired is a 400', async () => {
    await call(gw.url, 'POST', '/v1/teams', { id: 'exp-team', name: 'exp' });
    const res = await call(gw.url, 'POST', '/v1/keys', { team_id: 'exp-team', name: 'old', role: 'member', expires_at: '2000-01-01T00:00:00Z' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', param: 'expires_at' });
    const later = await call(gw.url, 'POST', '/v1/keys', { team_id: 'exp-team', name: 'later', role: 'member', expires_at: new Date(Date.now() + 86_400_000).toISOString() });
    expect(later.status).toBe(201);
  });

  test('rotating an expired key is a 409, as rotating a revoked one; nothing changes', async () => {
    const k = await call(gw.url, 'POST', '/v1/keys', { team_id: 'exp-team', name: 'soon', role: 'member', expires_at: new Date(Date.now() + 60_000).toISOString() });
    expect(k.status).toBe(201);
    // Expire it now (an admin may shorten a key's life).
    expect((await call(gw.url, 'PATCH', `/v1/keys/${k.body.id}`, { expires_at: '2000-01-01T00:00:00Z' })).status).toBe(200);
    const rot = await call(gw.url, 'POST', `/v1/keys/${k.body.id}/rotate`, { grace_seconds: 0 });
    expect(rot.status).toBe(409);
    expect(rot.body.error.code).toBe('conflict');
    expect(rot.body.key).toBeUndefined();
    const audit = await db.query(`SELECT 1 FROM audit_log WHERE action = 'key.rotate' AND target_id = $1`, [k.body.id]);
    expect(audit.rows).toHaveLength(0);
    // Given a later expiry, it rotates.
    expect((await call(gw.url, 'PATCH', `/v1/keys/${k.body.id}`, { expires_at: null })).status).toBe(200);
    expect((await call(gw.url, 'POST', `/v1/keys/${k.body.id}/rotate`, { grace_seconds: 0 })).status).toBe(200);
  });
});

test('a key may be given "*" under a team that allows "*", but not under a narrower team', async () => {
  await call(gw.url, 'POST', '/v1/teams', { id: 'star-team', name: 's', allowed_models: ['*'] });
  const k = await call(gw.url, 'POST', '/v1/keys', { team_id: 'star-team', name: 'k', role: 'member', allowed_models: ['*'] });
  expect(k.status).toBe(201);
  expect(k.body.allowed_models).toEqual(['*']);
  expect((await call(gw.url, 'PATCH', `/v1/keys/${k.body.id}`, { allowed_models: ['*', 'primary/*'] })).status).toBe(200);

  await call(gw.url, 'POST', '/v1/teams', { id: 'narrow-team', name: 'n', allowed_models: ['primary/*'] });
  const wide = await call(gw.url, 'POST', '/v1/keys', { team_id: 'narrow-team', name: 'k', role: 'member', allowed_models: ['*'] });
  expect(wide.status).toBe(400);
  expect(wide.body.error).toMatchObject({ code: 'invalid_request', param: 'allowed_models' });
});

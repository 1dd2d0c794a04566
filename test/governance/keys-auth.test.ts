import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import { formatKey } from '../../services/gateway/src/governance/key-format.js';
import { startHarness, TEST_ADMIN_KEY, TEST_ADMIN_KEY_ID, type Harness } from '../../services/gateway/src/testing/gateway-harness.js';
import { bearer, call, chat, sleep, teamKey } from './helpers.js';

let db: Db;
let openai: FakeOpenAI;
let gw: Harness;

beforeAll(async () => {
  [db, openai] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test' })]);
  gw = await startHarness(db, {
    providers: { primary: openai.url, backup: openai.url },
    prices: { 'primary/gpt-4o-mini': { input: '1', output: '2' }, 'backup/gpt-4o-mini': { input: '1', output: '2' } },
  });
});
afterAll(async () => {
  await gw?.close();
  await openai?.close();
  await db?.close();
});

describe('API keys at the front door', () => {
  test('no, malformed, oversized, mistyped and unknown keys are 401 with a clear code; health stays open', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const cases: [Record<string, string>, string][] = [
      [{}, 'unauthenticated'],
      [{ authorization: 'Basic abc' }, 'invalid_api_key'],
      [{ authorization: `Bearer ${'x'.repeat(5000)}` }, 'invalid_api_key'],
      [{ authorization: 'Bearer sk-not-a-quire-key' }, 'invalid_api_key'],
      // One character changed: the checksum catches it without a database lookup.
      [{ authorization: `Bearer ${TEST_ADMIN_KEY.slice(0, 30)}${TEST_ADMIN_KEY[30] === 'a' ? 'b' : 'a'}${TEST_ADMIN_KEY.slice(31)}` }, 'invalid_api_key'],
      [bearer(formatKey('UnknownKey01', 'S'.repeat(32))), 'invalid_api_key'],
    ];
    for (const [headers, code] of cases) {
      const res = await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), headers);
      expect([res.status, res.body.error.code]).toEqual([401, code]);
      expect(JSON.stringify(res.body)).not.toContain('x'.repeat(100));
    }
    expect((await call(gw.url, 'GET', '/v1/collections', undefined, {})).status).toBe(401);
  });

  test('create shows the secret once; revoked and expired keys are refused', async () => {
    const member = await teamKey(gw.url, 'keys-a', 'member');
    expect(member.key).toMatch(/^qk_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}_[0-9A-Za-z]{6}$/);
    const got = await call(gw.url, 'GET', `/v1/keys/${member.id}`);
    expect(got.body).toMatchObject({ id: member.id, team_id: 'keys-a', role: 'member', status: 'active' });
    expect(JSON.stringify(got.body)).not.toContain(member.key.split('_')[3]);
    const listed = await call(gw.url, 'GET', '/v1/keys?team=keys-a&limit=1');
    expect(listed.body.data).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toMatch(/secret|hash/);

    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), member.auth)).status).toBe(200);
    expect((await call(gw.url, 'POST', `/v1/keys/${member.id}/revoke`)).body.status).toBe('revoked');
    const revoked = await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), member.auth);
    expect([revoked.status, revoked.body.error.code]).toEqual([401, 'api_key_revoked']);

    // A key cannot be created expired (400): one that expires after its creation is refused once past.
    const expired = await teamKey(gw.url, 'keys-a', 'member', { expires_at: new Date(Date.now() + 60_000).toISOString() });
    expect((await call(gw.url, 'PATCH', `/v1/keys/${expired.id}`, { expires_at: new Date(Date.now() - 1000).toISOString() })).status).toBe(200);
    const res = await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), expired.auth);
    expect([res.status, res.body.error.code]).toEqual([401, 'api_key_expired']);
  });

  test('after rotation the old secret works during the grace period only', async () => {
    const k = await teamKey(gw.url, 'keys-r', 'member');
    const rotated = await call(gw.url, 'POST', `/v1/keys/${k.id}/rotate`, { grace_seconds: 1 });
    expect(rotated.status).toBe(200);
    const fresh = bearer(rotated.body.key);
    expect(rotated.body.key).not.toBe(k.key);
    expect((await call(gw.url, 'GET', '/v1/usage', undefined, k.auth)).status).toBe(200);
    expect((await call(gw.url, 'GET', '/v1/usage', undefined, fresh)).status).toBe(200);
    await sleep(1100);
    expect((await call(gw.url, 'GET', '/v1/usage', undefined, k.auth)).status).toBe(401);
    expect((await call(gw.url, 'GET', '/v1/usage', undefined, fresh)).status).toBe(200);
    // Rotation without grace: the old secret stops at once.
    const again = await call(gw.url, 'POST', `/v1/keys/${k.id}/rotate`, {});
    expect((await call(gw.url, 'GET', '/v1/usage', undefined, fresh)).status).toBe(401);
    expect((await call(gw.url, 'GET', '/v1/usage', undefined, bearer(again.body.key))).status).toBe(200);
  });

  test('model allow lists: the team narrows, the key narrows further, never widens', async () => {
    await call(gw.url, 'POST', '/v1/teams', { id: 'keys-m', name: 'M', allowed_models: ['primary/*'] });
    const k = await teamKey(gw.url, 'keys-m', 'member');
    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), k.auth)).status).toBe(200);
    const refused = await call(gw.url, 'POST', '/v1/chat/completions', chat('backup/gpt-4o-mini'), k.auth);
    expect([refused.status, refused.body.error.code]).toEqual([403, 'model_not_allowed']);
    const wider = await call(gw.url, 'POST', '/v1/keys', { team_id: 'keys-m', name: 'w', role: 'member', allowed_models: ['backup/gpt-4o-mini'] });
    expect([wider.status, wider.body.error.param]).toEqual([400, 'allowed_models']);
    const narrow = await teamKey(gw.url, 'keys-m', 'member', { allowed_models: ['primary/other'] });
    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), narrow.auth)).body.error.code).toBe('model_not_allowed');
  });

  test('roles: members cannot use admin APIs or change collections', async () => {
    const m = await teamKey(gw.url, 'keys-roles', 'member');
    for (const [method, path] of [['GET', '/v1/keys'], ['POST', '/v1/teams'], ['GET', '/v1/audit'], ['PUT', '/v1/budgets'], ['GET', '/v1/admin/routes']]) {
      expect((await call(gw.url, method!, path!, method === 'GET' ? undefined : {}, m.auth)).status).toBe(403);
    }
    const write = await call(gw.url, 'POST', '/v1/collections', { name: 'x' }, m.auth);
    expect([write.status, write.body.error.code]).toEqual([403, 'collection_write_denied']);
    const other = await call(gw.url, 'GET', '/v1/usage?team=keys-a', undefined, m.auth);
    expect(other.status).toBe(403);
  });

  test('another spelling of a path (case, a trailing slash) reaches no route, so it cannot pass around a check', async () => {
    await call(gw.url, 'POST', '/v1/teams', { id: 'keys-paths', name: 'P', allowed_models: ['primary/*'] });
    const m = await teamKey(gw.url, 'keys-paths', 'member');
    // Checks compare the exact path; express used to route /V1/Chat/Completions/ to the same handler.
    for (const path of ['/V1/chat/completions', '/v1/CHAT/completions', '/v1/chat/completions/', '/v1/embeddings/', '/v1/Rerank', '/v1/responses/']) {
      const res = await call(gw.url, 'POST', path, chat('backup/gpt-4o-mini'), m.auth);
      expect([path, res.status]).toEqual([path, 404]);
    }
    for (const [method, path] of [['POST', '/V1/COLLECTIONS'], ['POST', '/v1/collections/'], ['DELETE', '/V1/collections/c1'], ['PUT', '/v1/Collections/c1/search-settings'], ['GET', '/V1/KEYS'], ['GET', '/v1/audit/']]) {
      const res = await call(gw.url, method!, path!, method === 'GET' || method === 'DELETE' ? undefined : { name: 'x' }, m.auth);
      // 404 where no route matches, 403 where a role check sees the path first: never served.
      expect([path, [403, 404].includes(res.status)]).toEqual([path, true]);
    }
    expect((await call(gw.url, 'POST', '/v1/chat/completions', chat('backup/gpt-4o-mini'), m.auth)).status).toBe(403);
  });

  test('the audit log records admin changes and refusals, is append-only and exports CSV and JSONL', async () => {
    const k = await teamKey(gw.url, 'keys-audit', 'member');
    await call(gw.url, 'POST', `/v1/keys/${k.id}/revoke`);
    await call(gw.url, 'POST', '/v1/chat/completions', chat('primary/gpt-4o-mini'), k.auth, { 'x-request-id': 'audit-refused-1' });
    const log = await call(gw.url, 'GET', '/v1/audit?limit=200');
    const created = log.body.data.find((r: any) => r.action === 'key.create' && r.target_id === k.id);
    expect(created).toMatchObject({ outcome: 'ok', actor_key_id: TEST_ADMIN_KEY_ID, before: null });
    expect(created.after).toMatchObject({ id: k.id, role: 'member' });
    const revoke = log.body.data.find((r: any) => r.action === 'key.revoke' && r.target_id === k.id);
    expect(revoke.before.status).toBe('active');
    expect(revoke.after.status).toBe('revoked');
    expect(log.body.data.find((r: any) => r.request_id === 'audit-refused-1')).toMatchObject({ outcome: 'refused', code: 'api_key_revoked' });
    expect(JSON.stringify(log.body)).not.toContain(k.key);
    await expect(db.query('UPDATE audit_log SET action = $1', ['x'])).rejects.toThrow(/append-only/);
    await expect(db.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);

    const csv = await fetch(`${gw.url}/v1/audit?format=csv&outcome=refused`, { headers: bearer(TEST_ADMIN_KEY) });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await csv.text()).split('\r\n')[0]).toBe('id,created_at,request_id,actor_key_id,actor_team_id,action,outcome,code,target_type,target_id,before,after,details');
    const jsonl = await (await fetch(`${gw.url}/v1/audit?format=jsonl&limit=2`, { headers: bearer(TEST_ADMIN_KEY) })).text();
    expect(jsonl.trim().split('\n').map((l) => JSON.parse(l).id)).toHaveLength(2);
    const page1 = await call(gw.url, 'GET', '/v1/audit?limit=1');
    const page2 = await call(gw.url, 'GET', `/v1/audit?limit=1&cursor=${page1.body.next_cursor}`);
    expect(Number(page2.body.data[0].id)).toBeLessThan(Number(page1.body.data[0].id));
  });
});

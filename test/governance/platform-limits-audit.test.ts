import { randomUUID } from 'node:crypto';
import { AUTH } from '../e2e/quire-harness.js';
import { call, sleep, teamKey, uploadText } from './helpers.js';
import { useQuireStack } from './quire-stack.js';

const stack = useQuireStack();
let coll = '';
const run = randomUUID().slice(0, 8);
const team = (name: string) => `pl-${name}-${run}`;

/** Fixed one-minute windows: stay clear of a boundary so a whole test falls in one window. */
async function awayFromWindowEdge() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await sleep(left + 100);
}

const upload = (auth: Record<string, string>, collection: string, text: string) => uploadText(stack.url, auth, collection, 'warranty.txt', text);

async function auditRows(teamId: string): Promise<any[]> {
  const r = await call(stack.url, 'GET', `/v1/audit?outcome=refused&team=${teamId}&limit=100`, undefined, AUTH);
  expect(r.status).toBe(200);
  return r.body.data;
}

const search = (auth: Record<string, string>) => call(stack.url, 'POST', `/v1/collections/${coll}/search`, { query: 'warranty', top_k: 3 }, auth);
const answer = (auth: Record<string, string>) => call(stack.url, 'POST', `/v1/collections/${coll}/answer`, { question: 'How long is the warranty?', top_k: 3 }, auth);
const chatCall = (auth: Record<string, string>) => call(stack.url, 'POST', '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }, auth);
const remaining = (r: { headers: Headers }) => r.headers.get('x-ratelimit-remaining-requests');

beforeAll(async () => {
  const admin = await teamKey(stack.url, team('a'), 'knowledge-admin', {}, AUTH);
  const created = await call(stack.url, 'POST', '/v1/collections', { name: 'Warranty docs', embedding_model: 'openai/text-embedding-3-small', generation_model: 'openai/gpt-4o-mini' }, admin.auth);
  expect(created.status).toBe(201);
  coll = created.body.id;
  await upload(admin.auth, coll, 'The warranty lasts 36 months from the date of purchase. Returns are accepted within 30 days.');
}, 120_000);

describe('platform API rate limits', () => {
  test('a key with rpm=3: three searches pass, the fourth gets 429 with retry-after; reads are not counted', async () => {
    const k = await teamKey(stack.url, team('a'), 'member', { rpm: 3 }, AUTH);
    await awayFromWindowEdge();
    const results = [await search(k.auth), await search(k.auth), await search(k.auth)];
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.map(remaining)).toEqual(['2', '1', '0']);
    expect(results[0]!.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(results[0]!.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
    const refused = await search(k.auth);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limit_exceeded');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(remaining(refused)).toBe('0');
    // Uploads and answers count the same way; reading state (status polling, lists) does not.
    expect((await answer(k.auth)).status).toBe(429);
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}`, undefined, k.auth)).status).toBe(200);
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}/documents`, undefined, k.auth)).status).toBe(200);
    const rows = await auditRows(team('a'));
    expect(rows.some((r) => r.actor_key_id === k.id && r.code === 'rate_limit_exceeded' && r.action === `POST /v1/collections/${coll}/search`)).toBe(true);
  });

  test('an answer costs exactly one request, though its embedding and generation calls come back through the gateway; their tokens count', async () => {
    const k = await teamKey(stack.url, team('a'), 'member', { rpm: 3, tpm: 1_000_000 }, AUTH);
    await awayFromWindowEdge();
    const modelCallsBefore = stack.harness.openai.requests.length;
    const answered = await answer(k.auth);
    expect(answered.status).toBe(200);
    expect(remaining(answered)).toBe('2');
    const modelCalls = stack.harness.openai.requests.slice(modelCallsBefore).map((r) => r.path);
    expect(modelCalls).toEqual(expect.arrayContaining(['/v1/embeddings', '/v1/chat/completions']));
    expect(answered.headers.get('x-ratelimit-remaining-tokens')).toBe('1000000');
    // The internal calls' tokens are added to the key's window as each settles (just after it answers).
    await sleep(300);
    const after = await search(k.auth);
    expect(remaining(after)).toBe('1');
    expect(Number(after.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(1_000_000);
    expect(remaining(await search(k.auth))).toBe('0');
    expect((await search(k.auth)).status).toBe(429);
  });

  test("an upload's background embedding does not use the uploader's token window", async () => {
    const k = await teamKey(stack.url, team('a'), 'knowledge-admin', { rpm: 10, tpm: 1_000_000 }, AUTH);
    await awayFromWindowEdge();
    await upload(k.auth, coll, 'Spare batteries are kept in the second drawer of the supply cabinet. '.repeat(40));
    await sleep(300);
    const after = await search(k.auth);
    expect(after.status).toBe(200);
    // The upload counted as one request, its embedding calls as nothing; only the search's query embedding has settled yet.
    expect(remaining(after)).toBe('8');
    expect(Number(after.headers.get('x-ratelimit-remaining-tokens'))).toBe(1_000_000);
  });

  test('the model API and the platform API share one per-key window', async () => {
    const k = await teamKey(stack.url, team('a'), 'member', { rpm: 3 }, AUTH);
    await awayFromWindowEdge();
    const first = await chatCall(k.auth);
    expect([first.status, remaining(first)]).toEqual([200, '2']);
    const second = await search(k.auth);
    expect([second.status, remaining(second)]).toEqual([200, '1']);
    const third = await answer(k.auth);
    expect([third.status, remaining(third)]).toEqual([200, '0']);
    expect((await chatCall(k.auth)).status).toBe(429);
    expect((await search(k.auth)).status).toBe(429);
  });

  test("a team's rpm counts platform requests of all its keys", async () => {
    const t = team('t');
    expect((await call(stack.url, 'POST', '/v1/teams', { id: t, name: t, rpm: 2 }, AUTH)).status).toBe(201);
    const one = await teamKey(stack.url, t, 'member', {}, AUTH);
    const two = await teamKey(stack.url, t, 'member', {}, AUTH);
    await awayFromWindowEdge();
    const multi = (auth: Record<string, string>) => call(stack.url, 'POST', '/v1/search', { collection_ids: [coll], query: 'warranty' }, auth);
    // The team owns no collection: retrieval answers 404, and each request still counted.
    expect([(await multi(one.auth)).status, (await multi(two.auth)).status]).toEqual([404, 404]);
    const refused = await multi(one.auth);
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toMatch(/team/);
  });
});

describe('refusals raised inside the services are audited by the gateway', () => {
  test("a member of team B asking team A's collection is refused, and the audit log has the row with its code", async () => {
    const b = await teamKey(stack.url, team('b'), 'member', {}, AUTH);
    const asked = await answer(b.auth);
    expect(asked.status).toBe(404);
    expect(asked.body.error.code).toBe('collection_not_found');
    const searched = await search(b.auth);
    expect(searched.status).toBe(404);
    const rows = await auditRows(team('b'));
    const row = rows.find((r) => r.action === `POST /v1/collections/${coll}/answer`);
    expect(row).toMatchObject({ actor_key_id: b.id, actor_team_id: team('b'), outcome: 'refused', code: 'collection_not_found', target_type: 'collection', target_id: coll });
    expect(row.details).toMatchObject({ status: 404, service: 'retrieval' });
    expect(row.request_id).toBeTruthy();
    expect(rows.some((r) => r.action === `POST /v1/collections/${coll}/search` && r.code === 'collection_not_found')).toBe(true);
  });

  test("kb/<collection> chat for another team's collection is refused and audited the same way", async () => {
    const b = await teamKey(stack.url, team('kb'), 'member', {}, AUTH);
    const asked = await call(stack.url, 'POST', '/v1/chat/completions', { model: `kb/${coll}`, messages: [{ role: 'user', content: 'warranty?' }] }, b.auth);
    expect(asked.status).toBe(404);
    const rows = await auditRows(team('kb'));
    expect(rows.find((r) => r.action === 'POST /v1/chat/completions')).toMatchObject({ actor_key_id: b.id, outcome: 'refused', code: 'collection_not_found' });
  });

  test('a 403 raised in retrieval (role) and a model the team may not use (raised at the inner call) are audited for the outer request', async () => {
    const member = await teamKey(stack.url, team('a'), 'member', {}, AUTH);
    const evalSet = await call(stack.url, 'POST', '/v1/eval-sets', { name: 'x', collection_id: coll }, member.auth);
    expect([evalSet.status, evalSet.body.error.code]).toEqual([403, 'role_not_allowed']);
    const narrow = await teamKey(stack.url, team('a'), 'member', { allowed_models: ['openai/text-embedding-3-small'] }, AUTH);
    expect((await search(narrow.auth)).status).toBe(200);
    const refused = await answer(narrow.auth);
    expect([refused.status, refused.body.error.code]).toEqual([403, 'model_not_allowed']);
    const rows = await auditRows(team('a'));
    expect(rows.find((r) => r.actor_key_id === member.id && r.action === 'POST /v1/eval-sets')).toMatchObject({ code: 'role_not_allowed', details: { status: 403, service: 'retrieval' } });
    expect(rows.find((r) => r.actor_key_id === narrow.id && r.action === `POST /v1/collections/${coll}/answer`)).toMatchObject({ code: 'model_not_allowed', target_id: coll });
  });

  test('successes and errors that are not refusals leave no row', async () => {
    const k = await teamKey(stack.url, team('a'), 'member', {}, AUTH);
    expect((await search(k.auth)).status).toBe(200);
    expect((await call(stack.url, 'POST', `/v1/collections/${coll}/search`, { top_k: 3 }, k.auth)).status).toBe(400);
    const rows = await auditRows(team('a'));
    expect(rows.filter((r) => r.actor_key_id === k.id)).toEqual([]);
  });
});

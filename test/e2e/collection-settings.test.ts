import { call, teamKey, uploadText } from '../governance/helpers.js';
import { useQuireStack } from '../governance/quire-stack.js';

/**
 * `PATCH /v1/collections/:id` through the whole stack: a collection made without a generation model
 * gets one and answers at once (retrieval reads the row per request), settings fixed by the index
 * are refused with a pointer to index versions, only the owning team's writers change settings, and
 * model names the gateway does not list come back as warnings, never refusals.
 */
const stack = useQuireStack();

const key = async (team: string, role: string) => (await teamKey(stack.url, team, role, {}, stack.adminAuth)).auth;
const EMBEDDING = 'openai/text-embedding-3-small';
const GENERATION = 'openai/gpt-4o-mini';

describe('changing a collection after it was created', () => {
  let writer: Record<string, string>, member: Record<string, string>, otherWriter: Record<string, string>;
  let coll = '';

  beforeAll(async () => {
    writer = await key('cs-a', 'knowledge-admin');
    member = await key('cs-a', 'member');
    otherWriter = await key('cs-b', 'knowledge-admin');
    const created = await call(stack.url, 'POST', '/v1/collections', { name: 'Started without a key', embedding_model: EMBEDDING }, writer);
    expect(created.status).toBe(201);
    coll = created.body.id;
    await uploadText(stack.url, writer, coll, 'warranty.txt', 'Laptop warranty. The laptop warranty lasts 36 months from delivery.');
  }, 120_000);

  const patch = (body: unknown, auth = writer) => call(stack.url, 'PATCH', `/v1/collections/${coll}`, body, auth);
  const ask = () => call(stack.url, 'POST', `/v1/collections/${coll}/answer`, { question: 'How long is the laptop warranty?' }, writer);

  test('setting a generation model makes answers work at once; clearing it refuses them again', async () => {
    const refused = await ask();
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('no_generation_model');
    expect(refused.body.error.message).toContain(`PATCH /v1/collections/${coll}`);

    const changed = await patch({ generation_model: GENERATION, description: 'Hardware policies' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: coll, generation_model: GENERATION, description: 'Hardware policies', embedding_model: EMBEDDING, warnings: [] });
    expect(changed.body.document_counts.ready).toBe(1);

    const answered = await ask();
    expect(answered.status).toBe(200);
    expect(answered.body.answer).toContain('36 months');
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}`, undefined, writer)).body.generation_model).toBe(GENERATION);

    expect((await patch({ generation_model: null })).body.generation_model).toBeNull();
    expect((await ask()).status).toBe(422);
    expect((await patch({ generation_model: GENERATION })).status).toBe(200);
  });

  test.each([
    [{ embedding_model: 'openai/text-embedding-3-large' }, 'embedding_model'],
    [{ chunking: { chunk_size: 500 } }, 'chunking'],
    [{ embedding_dimensions: 32, name: 'Renamed' }, 'embedding_dimensions'],
  ])('a setting fixed by the index (%j) is refused with a pointer to index versions', async (body, param) => {
    const refused = await patch(body);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'reindex_required', param });
    expect(refused.body.error.message).toContain(`POST /v1/collections/${coll}/index-versions`);
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}`, undefined, writer)).body).toMatchObject({ name: 'Started without a key', embedding_model: EMBEDDING });
  });

  test('unknown fields and malformed values are 400, and nothing changes', async () => {
    // A NUL character cannot be stored in a text column: a 400 naming the field, not a 500 from the update.
    for (const body of [{ generation_model: GENERATION, colour: 'blue' }, { generation_model: 'gpt-4o-mini' }, { name: '' }, { description: 'a\u0000b' }, { generation_model: 'openai/gpt\u0000' }]) {
      const refused = await patch(body);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('invalid_request');
    }
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}`, undefined, writer)).body.generation_model).toBe(GENERATION);
    const nul = await call(stack.url, 'POST', '/v1/collections', { name: 'a\u0000b' }, writer);
    expect(nul.status).toBe(400);
    expect(nul.body.error.param).toBe('name');
  });

  test("a member is refused at the gateway; another team meets the collection as missing, granted or not; an organisation admin may", async () => {
    const denied = await patch({ generation_model: null }, member);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('collection_write_denied');
    expect((await patch({ generation_model: null }, otherWriter)).status).toBe(404);
    expect((await call(stack.url, 'PUT', `/v1/collections/${coll}/grants/cs-b`, { access: 'write' }, stack.adminAuth)).status).toBe(200);
    const granted = await patch({ generation_model: null }, otherWriter);
    expect(granted.status).toBe(404);
    expect(granted.body.error.code).toBe('collection_not_found');
    expect((await call(stack.url, 'GET', `/v1/collections/${coll}`, undefined, writer)).body.generation_model).toBe(GENERATION);

    const byAdmin = await patch({ rerank_model: null, name: 'Hardware' }, stack.adminAuth);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ name: 'Hardware', generation_model: GENERATION });
  });

  test("a renaming onto another of the team's collection names is a conflict", async () => {
    expect((await call(stack.url, 'POST', '/v1/collections', { name: 'Taken name' }, writer)).status).toBe(201);
    const clash = await patch({ name: 'taken NAME' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe('conflict');
  });

  test('a model the gateway does not list is stored with a warning on create and PATCH; a listed one gets none', async () => {
    const created = await call(stack.url, 'POST', '/v1/collections', { name: 'Typo', embedding_model: 'openai/text-embeding-3-small', generation_model: GENERATION }, writer);
    expect(created.status).toBe(201);
    expect(created.body.embedding_model).toBe('openai/text-embeding-3-small');
    expect(created.body.warnings).toEqual([
      expect.objectContaining({ code: 'model_not_listed', param: 'embedding_model', model: 'openai/text-embeding-3-small', suggestion: EMBEDDING }),
    ]);
    expect(created.body.warnings[0].message).toContain(`Did you mean "${EMBEDDING}"?`);

    const typo = await call(stack.url, 'PATCH', `/v1/collections/${created.body.id}`, { generation_model: 'openai/gpt-4o-mnii', rerank_model: 'cohere/rerank-v3.5' }, writer);
    expect(typo.status).toBe(200);
    expect(typo.body.generation_model).toBe('openai/gpt-4o-mnii');
    expect(typo.body.warnings).toEqual([
      expect.objectContaining({ code: 'model_not_listed', param: 'generation_model', suggestion: GENERATION }),
      // No Cohere key in this stack: the gateway lists no Cohere model at all.
      expect.objectContaining({ code: 'provider_not_listed', param: 'rerank_model', model: 'cohere/rerank-v3.5' }),
    ]);

    const fixed = await call(stack.url, 'PATCH', `/v1/collections/${created.body.id}`, { generation_model: GENERATION, rerank_model: null }, writer);
    expect(fixed.status).toBe(200);
    expect(fixed.body.warnings).toEqual([]);
    const clean = await call(stack.url, 'POST', '/v1/collections', { name: 'Clean', embedding_model: EMBEDDING, generation_model: GENERATION }, writer);
    expect(clean.body.warnings).toEqual([]);
  });
  test('creating, changing and deleting a collection and its search settings show in the audit log, each with its request', async () => {
    const auditor = await teamKey(stack.url, 'cs-a', 'knowledge-admin', {}, stack.adminAuth);
    const created = await call(stack.url, 'POST', '/v1/collections', { name: 'Audited', embedding_model: EMBEDDING }, auditor.auth);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const steps = [
      created,
      await call(stack.url, 'PATCH', `/v1/collections/${id}`, { generation_model: GENERATION }, auditor.auth),
      await call(stack.url, 'PUT', `/v1/collections/${id}/search-settings`, { preset: 'keyword-heavy' }, auditor.auth),
      await call(stack.url, 'DELETE', `/v1/collections/${id}`, undefined, auditor.auth),
    ];
    for (const step of steps) expect(step.status).toBeLessThan(300);

    const audit = await call(stack.url, 'GET', '/v1/audit?team=cs-a&outcome=ok&limit=100', undefined, stack.adminAuth);
    expect(audit.status).toBe(200);
    const rows = (audit.body.data as any[]).filter((r) => r.target_id === id).reverse();
    expect(rows.map((r) => r.action)).toEqual(['collection.create', 'collection.update', 'search_settings.put', 'collection.delete']);
    rows.forEach((row, i) => {
      expect(row).toMatchObject({ actor_key_id: auditor.id, actor_team_id: 'cs-a', target_type: 'collection', details: expect.objectContaining({ owner_team_id: 'cs-a' }) });
      expect(row.request_id).toBe(steps[i]!.headers.get('x-request-id'));
    });
    expect(rows[1]).toMatchObject({ before: { generation_model: null }, after: { generation_model: GENERATION }, details: { fields: ['generation_model'] } });
    expect(rows[2]).toMatchObject({ after: { preset: 'keyword-heavy' }, details: { fields: ['preset'] } });
  });
});

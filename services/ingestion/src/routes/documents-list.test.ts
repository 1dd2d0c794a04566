import { ProviderError } from '@quire/models';
import type { Identity } from '@quire/contracts';
import { insertDocument } from '../repo/documents-repo.js';
import { TEAM_A } from '../testing/http.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';

/**
 * `GET /v1/collections/:id/documents` filters (`status`, `replacement_status`, `tag`, `name`) with
 * keyset paging, strict parameters, and the collection's `replacement_counts`, which count the same
 * documents `replacement_status` lists.
 */
let t: TestIngestion;
let coll: string;
/** Document ids by title. */
const ids: Record<string, string> = {};

const text = (topic: string, n = 3) => Array.from({ length: n }, (_, i) => `Paragraph ${i} of the ${topic} document explains item ${i}.`).join('\n\n');
const list = (query: string, identity?: Identity) => t.api.call(`/v1/collections/${coll}/documents${query}`, identity ? { identity } : {});
const titles = (body: { data: { title: string }[] }) => body.data.map((d) => d.title);

beforeAll(async () => {
  t = await startTestIngestion('documents-list');
  coll = (await t.api.createCollection({ name: 'Listed', embedding_model: 'openai/small' })).id;
  const docs: [string, Record<string, unknown>][] = [
    ['Good Practice Guide', { tags: ['policy', 'hr'] }],
    ['Travel policy', { tags: ['policy'] }],
    ['Goodwill report', { tags: ['finance'] }],
    ['100% uptime_plan', {}],
    ['Onboarding', { tags: 'hr' }],
  ];
  // One at a time, so created_at (the list's order) is the order above.
  for (const [title, metadata] of docs) {
    const r = await t.api.call(`/v1/collections/${coll}/documents`, { json: { text: text(title), title, metadata } });
    expect(r.status).toBe(202);
    ids[title] = r.body.documents[0].id;
    expect((await t.api.waitForDocument(ids[title]!)).status).toBe('ready');
  }
  // The file name is matched too: this one's title says nothing of it.
  await t.db.query(`UPDATE documents SET filename = 'Q3-GOODS-receipts.txt' WHERE id = $1`, [ids['Onboarding']]);
  await t.db.query(`UPDATE documents SET status = 'failed', error_code = 'parse_failed', error_stage = 'parsing', error_message = 'stopped by the test' WHERE id = ANY($1::uuid[])`, [[ids['Travel policy'], ids['100% uptime_plan']]]);
});

afterAll(async () => {
  await t?.stop();
});

test('status filters by the document\'s own status', async () => {
  expect(titles((await list('?status=failed')).body)).toEqual(['Travel policy', '100% uptime_plan']);
  expect(titles((await list('?status=ready')).body)).toEqual(['Good Practice Guide', 'Goodwill report', 'Onboarding']);
  expect((await list('?status=queued')).body).toEqual({ object: 'list', data: [], next_cursor: null });
});

test('tag finds documents whose metadata.tags holds any of the tags given, as search does', async () => {
  expect(titles((await list('?tag=policy')).body)).toEqual(['Good Practice Guide', 'Travel policy']);
  // A single string value counts as holding itself (jsonb `?|`, search's operator).
  expect(titles((await list('?tag=hr')).body)).toEqual(['Good Practice Guide', 'Onboarding']);
  expect(titles((await list('?tag=finance&tag=hr')).body)).toEqual(['Good Practice Guide', 'Goodwill report', 'Onboarding']);
  expect(titles((await list('?tag=nothing')).body)).toEqual([]);
});

test('name is a case-insensitive substring of the title or the file name, wildcards matched as typed', async () => {
  expect(titles((await list('?name=good')).body)).toEqual(['Good Practice Guide', 'Goodwill report', 'Onboarding']);
  expect(titles((await list('?name=GOODW')).body)).toEqual(['Goodwill report']);
  expect(titles((await list(`?name=${encodeURIComponent('100%')}`)).body)).toEqual(['100% uptime_plan']);
  expect(titles((await list(`?name=${encodeURIComponent('%')}`)).body)).toEqual(['100% uptime_plan']);
  expect(titles((await list('?name=e_p')).body)).toEqual(['100% uptime_plan']);
  // As a pattern, `_` would match the space of "Travel policy".
  expect(titles((await list('?name=l_p')).body)).toEqual([]);
});

test('filters combine, and page with a cursor that is valid with the same filters only', async () => {
  expect(titles((await list('?status=ready&tag=policy')).body)).toEqual(['Good Practice Guide']);
  expect(titles((await list('?status=ready&name=good&tag=hr')).body)).toEqual(['Good Practice Guide', 'Onboarding']);

  const seen: string[] = [];
  let first = '';
  let cursor: string | null = null;
  do {
    const page: { status: number; body: any } = await list(`?status=ready&name=good&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    expect(page.body.data).toHaveLength(1);
    seen.push(...titles(page.body));
    cursor = page.body.next_cursor;
    if (!first && cursor) first = cursor;
  } while (cursor);
  expect(seen).toEqual(['Good Practice Guide', 'Goodwill report', 'Onboarding']);

  for (const other of ['?status=failed', '?status=ready', '?status=ready&name=goo', '?name=good', '']) {
    const refused = await list(`${other}${other ? '&' : '?'}cursor=${first}`);
    expect([other, refused.status, refused.body.error]).toEqual([other, 400, expect.objectContaining({ code: 'invalid_request', param: 'cursor' })]);
  }
  // Tags are a set: their order and repeats make the same filter.
  const byTags = await list('?tag=policy&tag=hr&limit=1');
  expect(byTags.body.next_cursor).not.toBeNull();
  expect(titles((await list(`?tag=hr&tag=policy&tag=hr&limit=5&cursor=${byTags.body.next_cursor}`)).body)).toEqual(['Travel policy', 'Onboarding']);

  // An unfiltered list's cursor is the plain form it always was.
  const plain = await list('?limit=2');
  expect(JSON.parse(Buffer.from(plain.body.next_cursor, 'base64url').toString())).toHaveLength(2);
  expect(titles((await list(`?cursor=${plain.body.next_cursor}`)).body)).toEqual(['Goodwill report', '100% uptime_plan', 'Onboarding']);
});

test.each([
  ['?status=bogus', 'status'],
  ['?status=failed&status=ready', 'status'],
  ['?replacement_status=ready', 'replacement_status'],
  ['?limit=abc', 'limit'],
  ['?limit=0', 'limit'],
  ['?limit=101', 'limit'],
  ['?name=', 'name'],
  [`?name=${'x'.repeat(201)}`, 'name'],
  ['?name=a%00b', 'name'],
  ['?tag=', 'tag'],
  ['?foo=bar', 'foo'],
  ['?status=ready&q=good', 'q'],
  ['?tag[]=hr', 'tag[]'],
])('%s is a 400 naming %s', async (query, param) => {
  const r = await list(query);
  expect(r.status).toBe(400);
  expect(r.body.error).toMatchObject({ code: 'invalid_request', param });
  expect(r.body.error.message).toContain(param);
});

describe('a replacement that failed, or is still running', () => {
  const counts = async () => (await t.api.call(`/v1/collections/${coll}`)).body;

  test('shows in the collection\'s replacement_counts and under replacement_status, the document staying ready', async () => {
    const before = await counts();
    expect(before.replacement_counts).toEqual({ queued: 0, processing: 0, failed: 0 });

    // A PUT whose embedding fails for good: the document keeps its old content and stays `ready`.
    t.fake.failures.push(new ProviderError({ code: 'provider_auth_failed', provider: 'openai', message: 'The provider rejected the API key.', status: 401 }));
    const target = ids['Good Practice Guide']!;
    const put = await t.api.call(`/v1/documents/${target}`, { method: 'PUT', json: { text: text('second edition', 5) } });
    expect(put.status).toBe(202);
    expect((await t.api.waitForDocument(put.body.documents[0].id)).status).toBe('failed');
    expect((await t.api.call(`/v1/documents/${target}`)).body).toMatchObject({ status: 'ready', replacement: { status: 'failed' } });

    // A replacement of another document accepted and not yet run (never enqueued here): `queued`.
    await t.db.transaction((tx) =>
      insertDocument(tx, { collectionId: coll, title: null, filename: 'g.txt', mime: 'text/plain', bytes: new TextEncoder().encode('pending'), sha256: 'pending', metadata: {}, identity: TEAM_A, traceId: 'trace-pending', replacesDocumentId: ids['Goodwill report']! }),
    );

    const after = await counts();
    expect(after.document_counts).toEqual(before.document_counts);
    expect(after.replacement_counts).toEqual({ queued: 1, processing: 0, failed: 1 });
    const listed = await t.api.call('/v1/collections');
    expect(listed.body.data.find((c: { id: string }) => c.id === coll).replacement_counts).toEqual({ queued: 1, processing: 0, failed: 1 });

    expect(titles((await list('?replacement_status=failed')).body)).toEqual(['Good Practice Guide']);
    expect(titles((await list('?replacement_status=queued')).body)).toEqual(['Goodwill report']);
    expect(titles((await list('?replacement_status=processing')).body)).toEqual([]);
    expect(titles((await list('?replacement_status=failed&status=ready&tag=hr')).body)).toEqual(['Good Practice Guide']);
    expect(titles((await list('?replacement_status=failed&status=failed')).body)).toEqual([]);
  });

  test('counts and the filter follow the latest replacement only, and only what the caller may see', async () => {
    // A newer replacement of the same document, still queued: the failed one is no longer its latest.
    await t.db.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM documents WHERE id = $1 FOR UPDATE`, [ids['Good Practice Guide']]);
      await insertDocument(tx, { collectionId: coll, title: null, filename: 'g2.txt', mime: 'text/plain', bytes: new TextEncoder().encode('third'), sha256: 'third', metadata: {}, identity: TEAM_A, traceId: 'trace-third', replacesDocumentId: ids['Good Practice Guide']! });
    });
    expect((await counts()).replacement_counts).toEqual({ queued: 2, processing: 0, failed: 0 });
    expect(titles((await list('?replacement_status=failed')).body)).toEqual([]);
    expect(titles((await list('?replacement_status=queued')).body)).toEqual(['Good Practice Guide', 'Goodwill report']);

    // A member outside the group that a document is restricted to sees neither it nor its replacement.
    await t.db.query(`UPDATE documents SET access_groups = '{legal}' WHERE id = $1`, [ids['Goodwill report']]);
    const member: Identity = { ...TEAM_A, key_id: 'key-member', role: 'member', groups: [] };
    expect((await t.api.call(`/v1/collections/${coll}`, { identity: member })).body.replacement_counts).toEqual({ queued: 1, processing: 0, failed: 0 });
    expect(titles((await list('?replacement_status=queued', member)).body)).toEqual(['Good Practice Guide']);
  });
});

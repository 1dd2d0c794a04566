import type { Identity } from '@quire/contracts';
import { TEAM_B } from '../testing/http.js';
import { startTestIngestion, type TestIngestion } from '../testing/test-ingestion.js';

/**
 * `GET /v1/collections` pages (`limit`, `cursor`, oldest first) and filters by `name`, a
 * case-insensitive substring; any other parameter, or a bad value, is a 400 naming it.
 */
let t: TestIngestion;
/** A team of its own, so that only this file's collections are listed. */
const LISTER: Identity = { ...TEAM_B, team_id: 'team-lister', key_id: 'key-lister' };
const NAMES = ['Handbook', 'HR policies', 'Finance 2024', 'hr_archive', 'Engineering'];

const list = (query: string) => t.api.call(`/v1/collections${query}`, { identity: LISTER });
const names = (body: { data: { name: string }[] }) => body.data.map((c) => c.name);

beforeAll(async () => {
  t = await startTestIngestion('collections-list');
  for (const name of NAMES) await t.api.createCollection({ name }, LISTER);
  // Another team's collection is never listed.
  await t.api.createCollection({ name: 'HR of another team' });
});

afterAll(async () => {
  await t?.stop();
});

test('limit pages through every collection oldest first, each page with the cursor of the next', async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { status: number; body: any } = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    expect(page.body.object).toBe('list');
    seen.push(...names(page.body));
    cursor = page.body.next_cursor;
    pages++;
  } while (cursor);
  expect(seen).toEqual(NAMES);
  expect(pages).toBe(3);
  expect((await list('?limit=1')).body).toMatchObject({ data: [{ name: 'Handbook' }], next_cursor: expect.any(String) });
  // Without a limit, up to 100 at once: a client that read the whole list in one answer still does.
  expect(await list('')).toMatchObject({ status: 200, body: { next_cursor: null } });
  expect(names((await list('')).body)).toEqual(NAMES);
});

test('name is a case-insensitive substring, wildcards matched as typed, and its cursor needs the same name', async () => {
  expect(names((await list('?name=hr')).body)).toEqual(['HR policies', 'hr_archive']);
  expect(names((await list('?name=R_A')).body)).toEqual(['hr_archive']);
  // As a pattern, `_` would match the space of "HR policies".
  expect(names((await list('?name=r_p')).body)).toEqual([]);
  expect(names((await list('?name=book')).body)).toEqual(['Handbook']);
  expect(names((await list('?name=nothing')).body)).toEqual([]);

  const first = await list('?name=hr&limit=1');
  expect(names(first.body)).toEqual(['HR policies']);
  expect(names((await list(`?name=hr&limit=1&cursor=${first.body.next_cursor}`)).body)).toEqual(['hr_archive']);
  for (const other of ['', '?name=h&']) {
    const refused = await list(`${other || '?'}cursor=${first.body.next_cursor}`);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request', param: 'cursor' });
  }
});

test.each([
  ['?limit=abc', 'limit'],
  ['?limit=0', 'limit'],
  ['?limit=101', 'limit'],
  ['?cursor=nonsense', 'cursor'],
  ['?name=', 'name'],
  ['?name=a%00b', 'name'],
  ['?foo=bar', 'foo'],
  ['?limit=1&status=ready', 'status'],
])('%s is a 400 naming %s', async (query, param) => {
  const r = await list(query);
  expect(r.status).toBe(400);
  expect(r.body.error).toMatchObject({ code: 'invalid_request', param });
});

import { loadMigrations, migrate, openPGlite, openTestDatabase, type Db } from '@quire/db';
import { accessGroupsSql } from './access-sql.js';

describe('accessGroupsSql fails closed', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(() => db?.close());

  const groupsOf = async (metadata: unknown) =>
    (await db.query<{ groups: (string | null)[] }>(`SELECT ${accessGroupsSql('$1::jsonb')} AS groups`, [JSON.stringify(metadata)])).rows[0]!.groups;

  test('no key restricts nothing; a list of names restricts to them', async () => {
    expect(await groupsOf({})).toEqual([]);
    expect(await groupsOf({ access_groups: [] })).toEqual([]);
    expect(await groupsOf({ access_groups: ['hr', 'legal'] })).toEqual(['hr', 'legal']);
  });

  test.each([['"hr"', 'hr'], ['null', null], ['{}', {}], ['[1]', [1]], ['[""]', ['']], ['["hr", null]', ['hr', null]]])('%s matches no reader ({NULL})', async (_label, value) => {
    expect(await groupsOf({ access_groups: value })).toEqual([null]);
    const overlap = await db.query<{ seen: boolean }>(
      `SELECT (g = '{}' OR g && $2::text[]) AS seen FROM (SELECT ${accessGroupsSql('$1::jsonb')} AS g) x`,
      [JSON.stringify({ access_groups: value }), ['hr', '', 'null']],
    );
    expect(overlap.rows[0]!.seen).toBe(false);
  });
});

test('migration 0015 closes rows stored before it with a mistyped access_groups', async () => {
  const db = await openPGlite();
  try {
    const all = loadMigrations();
    const fix = all.find((m) => m.name === '0015_access_groups_fail_closed')!;
    await migrate(db, all.filter((m) => m.id < fix.id));
    const coll = await db.query<{ id: string }>(`INSERT INTO collections (team_id, name, chunking) VALUES ('t', 'c', '{}') RETURNING id`);
    const insert = async (metadata: unknown, accessGroups: string[]) =>
      (await db.query<{ id: string }>(
        `INSERT INTO documents (collection_id, team_id, mime_type, byte_size, content_sha256, metadata, access_groups) VALUES ($1, 't', 'text/plain', 1, 'x', $2::jsonb, $3) RETURNING id`,
        [coll.rows[0]!.id, JSON.stringify(metadata), accessGroups],
      )).rows[0]!.id;
    // What the old, lenient expression stored for each.
    const mistyped = await insert({ access_groups: 'hr' }, []);
    const listed = await insert({ access_groups: ['hr'] }, ['hr']);
    const open = await insert({ author: 'a' }, []);
    await migrate(db, [fix]);
    const after = await db.query<{ id: string; access_groups: (string | null)[] }>(`SELECT id, access_groups FROM documents`);
    const groups = Object.fromEntries(after.rows.map((r) => [r.id, r.access_groups]));
    expect(groups).toEqual({ [mistyped]: [null], [listed]: ['hr'], [open]: [] });
  } finally {
    await db.close();
  }
});

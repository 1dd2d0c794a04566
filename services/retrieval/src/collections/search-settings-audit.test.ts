import { HEADERS, type Identity } from '@quire/contracts';
import type { Db } from '@quire/db';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';

/**
 * `PUT /v1/collections/:id/search-settings` commits with its governance audit row (the table
 * `GET /v1/audit` lists): the caller, the request, the owning team and the settings that changed.
 */
const WRITER: Identity = { team_id: 'settings-a', key_id: 'key-writer', role: 'knowledge-admin', groups: [] };
const ORG_ADMIN: Identity = { team_id: 'default', key_id: 'key-org-admin', role: 'admin', groups: [] };

let db: Db;
let harness: RetrievalHarness;
let seeded: SeededCollection;

beforeAll(async () => {
  harness = await startRetrievalForTest({
    seed: async ({ db }) => {
      seeded = await seedCollection(db, { teamId: WRITER.team_id, name: 'settings', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE] });
    },
  });
  ({ db } = harness);
});
afterAll(() => harness?.close());

async function put(who: Identity, body: unknown, requestId: string) {
  const res = await fetch(`${harness.url}/v1/collections/${seeded.collectionId}/search-settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', [HEADERS.identity]: signIdentity(who, SECRET), [HEADERS.traceId]: requestId },
    body: JSON.stringify(body),
  });
  return res.status;
}

const auditRows = async () =>
  (await db.query<Record<string, any>>(`SELECT request_id, actor_key_id, actor_team_id, action, outcome, target_type, target_id, before, after, details FROM audit_log WHERE target_id = $1 ORDER BY id`, [seeded.collectionId])).rows;

test('each change of the search settings leaves one row naming the caller, the request and the settings that changed', async () => {
  expect(await put(WRITER, { preset: 'keyword-heavy', bm25: { k1: 1.2, b: 0.75 } }, 'req-settings-1')).toBe(200);
  // A PUT replaces: the preset changes, bm25 is the same, and the dropped fusion is not there to drop.
  expect(await put(ORG_ADMIN, { preset: 'semantic-heavy', bm25: { b: 0.75, k1: 1.2 } }, 'req-settings-2')).toBe(200);
  expect(await put(WRITER, {}, 'req-settings-3')).toBe(200);

  const rows = await auditRows();
  expect(rows).toEqual([
    {
      request_id: 'req-settings-1', actor_key_id: WRITER.key_id, actor_team_id: WRITER.team_id, action: 'search_settings.put', outcome: 'ok', target_type: 'collection', target_id: seeded.collectionId,
      before: { preset: null, bm25: null }, after: { preset: 'keyword-heavy', bm25: { k1: 1.2, b: 0.75 } }, details: { owner_team_id: WRITER.team_id, fields: ['bm25', 'preset'] },
    },
    {
      request_id: 'req-settings-2', actor_key_id: ORG_ADMIN.key_id, actor_team_id: ORG_ADMIN.team_id, action: 'search_settings.put', outcome: 'ok', target_type: 'collection', target_id: seeded.collectionId,
      before: { preset: 'keyword-heavy' }, after: { preset: 'semantic-heavy' }, details: { owner_team_id: WRITER.team_id, fields: ['preset'] },
    },
    {
      request_id: 'req-settings-3', actor_key_id: WRITER.key_id, actor_team_id: WRITER.team_id, action: 'search_settings.put', outcome: 'ok', target_type: 'collection', target_id: seeded.collectionId,
      before: { preset: 'semantic-heavy', bm25: { k1: 1.2, b: 0.75 } }, after: { preset: null, bm25: null }, details: { owner_team_id: WRITER.team_id, fields: ['bm25', 'preset'] },
    },
  ]);
});

test('a change whose audit row cannot be written does not happen', async () => {
  await db.exec(`CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$;
CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_refuse_audit();`);
  try {
    expect(await put(WRITER, { preset: 'keyword-heavy' }, 'req-settings-refused')).toBe(500);
  } finally {
    await db.exec(`DROP TRIGGER test_refuse_audit ON audit_log; DROP FUNCTION test_refuse_audit();`);
  }
  const stored = await db.query<{ search_settings: unknown }>(`SELECT search_settings FROM collections WHERE id = $1`, [seeded.collectionId]);
  expect(stored.rows[0]!.search_settings).toEqual({});
});

import type { Identity } from '@quire/contracts';
import type { Db } from '@quire/db';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { GARDEN_NOTES, HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';

/**
 * `GET /v1/collections/:id/query-stats` of a collection granted to another team: each team's
 * figures are over its own queries. The owner learns only how many queries and answers the other
 * teams made on its collection, never their cost (their spend), latency, no-answer rate or feedback,
 * which for a multi-collection query also describe the other team's own collections.
 */
const OWNER: Identity = { team_id: 'stats-a', key_id: 'key-a', role: 'member', groups: [] };
const GRANTED: Identity = { team_id: 'stats-b', key_id: 'key-b', role: 'member', groups: [] };
const STRANGER: Identity = { team_id: 'stats-c', key_id: 'key-c', role: 'member', groups: [] };
const ORG_ADMIN: Identity = { team_id: 'default', key_id: 'key-admin', role: 'admin', groups: [] };

let db: Db;
let harness: RetrievalHarness;
let shared: SeededCollection;
let theirs: SeededCollection;

async function call(who: Identity, path: string, body?: unknown) {
  const res = await fetch(`${harness.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(who, SECRET) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

beforeAll(async () => {
  harness = await startRetrievalForTest({
    reply: () => ['Ferries leave from pier four [1].'],
    seed: async ({ db }) => {
      shared = await seedCollection(db, { teamId: OWNER.team_id, name: 'shared', embeddingModel: 'fake/embed', generationModel: 'fake/gen', documents: [HARBOUR_GUIDE] });
      theirs = await seedCollection(db, { teamId: GRANTED.team_id, name: 'theirs', embeddingModel: 'fake/embed', generationModel: 'fake/gen', documents: [GARDEN_NOTES] });
      for (const team of [OWNER, GRANTED, STRANGER]) await db.query(`INSERT INTO teams (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, [team.team_id]);
      await db.query(`INSERT INTO collection_grants (collection_id, team_id, access, granted_by) VALUES ($1, $2, 'read', 'key-admin')`, [shared.collectionId, GRANTED.team_id]);
    },
  });
  ({ db } = harness);

  // The owner: one search. The granted team: one answer with feedback, and a multi-collection answer over its own collection too.
  expect((await call(OWNER, `/v1/collections/${shared.collectionId}/search`, { query: 'ferries' })).status).toBe(200);
  const answered = await call(GRANTED, `/v1/collections/${shared.collectionId}/answer`, { question: 'Where do ferries leave from?' });
  expect(answered.status).toBe(200);
  expect((await call(GRANTED, `/v1/queries/${answered.json.query_id}/feedback`, { rating: 'down', comment: 'our team wanted the winter timetable' })).status).toBe(201);
  expect((await call(GRANTED, '/v1/answer', { collection_ids: [shared.collectionId, theirs.collectionId], question: 'Ferries and slugs?' })).status).toBe(200);
});
afterAll(() => harness?.close());

const stats = (who: Identity) => call(who, `/v1/collections/${shared.collectionId}/query-stats`);

test("the owner's figures are over its own queries; of the granted team's it sees two counts", async () => {
  const own = await stats(OWNER);
  expect(own.status).toBe(200);
  expect(own.json).toMatchObject({ team_id: OWNER.team_id, queries: 1, answers: 0, no_answer_rate: null, feedback_rate: 0, feedback: { up: 0, down: 0 }, other_teams: { queries: 2, answers: 2 } });
  // Only the owner's search was metered into its cost: one query embedding.
  const ownCost = await db.query<{ total: string }>(`SELECT sum(cost_usd)::text AS total FROM usage_ledger WHERE team_id = $1`, [OWNER.team_id]);
  expect(own.json.cost_usd.total).toBeCloseTo(Number(ownCost.rows[0]!.total), 12);
});

test('the granted team sees the figures of its own queries only, and nothing of the owner\'s', async () => {
  const granted = await stats(GRANTED);
  expect(granted.status).toBe(200);
  expect(granted.json).toMatchObject({ team_id: GRANTED.team_id, queries: 2, answers: 2, feedback: { up: 0, down: 1 }, other_teams: null });
  expect(granted.json.feedback_rate).toBe(0.5);
});

test('a team the collection is not granted to meets it as missing; an organisation admin sees the owner\'s view', async () => {
  expect((await stats(STRANGER)).status).toBe(404);
  const admin = await stats(ORG_ADMIN);
  expect(admin.status).toBe(200);
  expect(admin.json).toMatchObject({ team_id: OWNER.team_id, queries: 1, other_teams: { queries: 2, answers: 2 } });
});

test("the owner's online quality per day follows the same rule", async () => {
  const quality = await call(OWNER, `/v1/collections/${shared.collectionId}/quality`);
  expect(quality.status).toBe(200);
  expect(quality.json.days).toHaveLength(1);
  expect(quality.json.days[0]).toMatchObject({ queries: 1, answers: 0, no_answer_rate: null, feedback: { up: 0, down: 0 }, other_teams: { queries: 2, answers: 2 } });
});

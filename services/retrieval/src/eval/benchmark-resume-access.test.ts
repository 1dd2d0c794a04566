import type { Identity } from '@quire/contracts';
import type { Db } from '@quire/db';
import { createLogger, signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';
import { findBenchmark, insertBenchmark, reopenRun, setStatus } from './benchmark-repo.js';
import { addCases, createEvalSet } from './eval-repo.js';

/**
 * A run's cases search with its identity's access groups. A resume makes the caller the run's
 * identity, so a caller with other groups would score the cases left against other documents than
 * the finished ones, and promotion would compare the two as alike: such a resume is refused (409
 * `access_differs`). A caller with the same groups resumes it, as themself (billed to them).
 */
const TEAM = 'team-resume-access';
const CREATOR: Identity = { team_id: TEAM, key_id: 'key-creator', role: 'knowledge-admin', groups: ['hr', 'finance'] };
const OTHER_GROUPS: Identity = { team_id: TEAM, key_id: 'key-other', role: 'knowledge-admin', groups: ['hr'] };
const SAME_GROUPS: Identity = { team_id: TEAM, key_id: 'key-same', role: 'knowledge-admin', groups: ['finance', 'hr', 'hr'] };

let harness: RetrievalHarness;
let db: Db;
let seeded: SeededCollection;

beforeAll(async () => {
  harness = await startRetrievalForTest({
    deps: { logger: createLogger({ test: 'benchmark-resume-access' }, 'error') },
    seed: async ({ db: d }) => {
      seeded = await seedCollection(d, { teamId: TEAM, name: 'resume access', embeddingModel: 'fake/embed', generationModel: null, documents: [HARBOUR_GUIDE] });
    },
  });
  ({ db } = harness);
});
afterAll(() => harness?.close());

/** A run the creator made that ended `completed` with its one case never run (missing: resumable). */
async function finishedRun(): Promise<string> {
  const setId = await createEvalSet(db, { teamId: TEAM, collectionId: seeded.collectionId, name: `set ${Math.random()}` });
  await db.transaction((tx) => addCases(tx, setId, [{ question: 'When is high tide at Port Zephyr?', relevant: [{ document_id: seeded.documentIds[0]!, grade: 1 }] }]));
  const id = await insertBenchmark(db, {
    teamId: TEAM, evalSetId: setId, collectionId: seeded.collectionId,
    configurations: [{ name: 'vec', mode: 'vector', top_k: 5, answer: false, resolved_index_version_id: seeded.indexVersionId }],
    judgeModel: null, budgetUsd: null, identity: CREATOR,
  });
  await setStatus(db, id, 'completed');
  return id;
}

const resume = async (who: Identity, id: string) => {
  const res = await fetch(`${harness.url}/v1/benchmarks/${id}/resume`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(who, SECRET) },
    body: '{}',
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

test('a caller whose access groups differ from the run\'s is refused, and the run keeps its identity', async () => {
  const id = await finishedRun();
  const refused = await resume(OTHER_GROUPS, id);
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe('benchmark_not_resumable');
  expect(refused.body.reason).toBe('access_differs');
  // It says who can resume it.
  expect(refused.body.error.message).toContain('key-creator');
  expect(refused.body.error.message).toContain('same groups');
  const run = await findBenchmark(db, id);
  expect(run!.status).toBe('completed');
  expect(run!.identity).toEqual(CREATOR);
});

test('a caller with the same access groups (in any order) resumes it as themself', async () => {
  const id = await finishedRun();
  const resumed = await resume(SAME_GROUPS, id);
  expect(resumed.status).toBe(202);
  expect(resumed.body.resumed).toEqual({ errored_cases: 0, missing_cases: 1 });
  // The resumed cases call models as, and are billed to, the caller.
  expect((await findBenchmark(db, id))!.identity.key_id).toBe('key-same');
});

test('the reopen itself holds to the run\'s access groups (a change between the check and the write)', async () => {
  const id = await finishedRun();
  expect(await reopenRun(db, id, 'completed', null, OTHER_GROUPS)).toBe(false);
  expect((await findBenchmark(db, id))!.status).toBe('completed');
  expect(await reopenRun(db, id, 'completed', null, { ...SAME_GROUPS, groups: ['hr', 'finance'] })).toBe(true);
});

import { openTestDatabase, type Db } from '@quire/db';
import { AppError } from '@quire/server-kit';
import { TEAM_A } from '../testing/http.js';
import { insertDocument } from './documents-repo.js';
import { decodeCursor } from './list-cursor.js';
import { setJobId } from './document-jobs-repo.js';

const UUID = '00000000-0000-4000-8000-000000000000';
const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('decodeCursor', () => {
  test('takes created_at as Postgres writes it, and ISO 8601', () => {
    for (const at of ['2024-05-01 12:34:56.123456+00', '2024-05-01 12:34:56+05:30', '2024-05-01 12:34:56-03', '2024-05-01T12:34:56.1Z', '0099-01-01 00:00:00+00']) {
      expect(decodeCursor(cursor([at, UUID]))).toEqual([at, UUID]);
    }
  });

  test('refuses what Date.parse takes but Postgres refuses as timestamptz, and any other shape than those handed out', () => {
    for (const value of [['1', UUID], ['May 1, 2024', UUID], ['2024-13-01 00:00:00+00', UUID], ['2024-02-30 00:00:00+00', UUID], ['0000-01-01 00:00:00+00', UUID],
      ['2024-01-01 00:00:00+16', UUID], ['2024-01-01', UUID], ['2024-01-01 00:00:00+00', 'x'], ['2024-01-01 00:00:00+00', UUID, 1]]) {
      expect([value, decodeCursor(cursor(value))]).toEqual([value, null]);
    }
    expect(decodeCursor('not base64 json')).toBeNull();
  });
});

let db: Db;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(() => db?.close());

describe('insertDocument', () => {
  test('a collection deleted since the route checked it is collection_not_found, with no document or blob written', async () => {
    const coll = (await db.query<{ id: string }>(`INSERT INTO collections (team_id, name, chunking) VALUES ('team-a', 'Vanishing', '{}') RETURNING id`)).rows[0]!.id;
    // The upload's transaction: the collection goes (a concurrent delete) before this insert runs.
    await db.query(`DELETE FROM collections WHERE id = $1`, [coll]);
    const error = await db
      .transaction((tx) =>
        insertDocument(tx, { collectionId: coll, title: 't', filename: 'f.txt', mime: 'text/plain', bytes: new TextEncoder().encode('hello'), sha256: 'vanishing', metadata: {}, identity: TEAM_A, traceId: 'trace-vanishing' }),
      )
      .catch((e: unknown) => e);
    expect(AppError.is(error) && [error.code, error.status]).toEqual(['collection_not_found', 404]);
    expect((await db.query(`SELECT 1 FROM documents WHERE collection_id = $1`, [coll])).rows).toEqual([]);
    expect((await db.query(`SELECT 1 FROM document_blobs WHERE sha256 = 'vanishing'`)).rows).toEqual([]);
  });
});

describe('setJobId', () => {
  test('with a version, a reconciler that enqueued for an older version does not overwrite the newer job id', async () => {
    const coll = (await db.query<{ id: string }>(`INSERT INTO collections (team_id, name, chunking) VALUES ('team-a', 'Jobs', '{}') RETURNING id`)).rows[0]!.id;
    const doc = await db.transaction((tx) =>
      insertDocument(tx, { collectionId: coll, title: 't', filename: 'f.txt', mime: 'text/plain', bytes: new TextEncoder().encode('jobs'), sha256: 'jobs', metadata: {}, identity: TEAM_A, traceId: 'trace-jobs' }),
    );
    // Another process took the document over (version 2) and recorded its job.
    await db.query(`UPDATE documents SET version = 2, job_id = $2 WHERE id = $1`, [doc.id, `${doc.id}-v2`]);
    await setJobId(db, doc.id, `${doc.id}-v1`, 1);
    const jobId = async () => (await db.query<{ job_id: string }>(`SELECT job_id FROM documents WHERE id = $1`, [doc.id])).rows[0]!.job_id;
    expect(await jobId()).toBe(`${doc.id}-v2`);
    await setJobId(db, doc.id, `${doc.id}-v2-again`, 2);
    expect(await jobId()).toBe(`${doc.id}-v2-again`);
  });
});

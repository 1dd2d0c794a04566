import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '@quire/db';
import type { Identity } from '@quire/contracts';
import { insertDocument } from './repo/documents-repo.js';
import { TEAM_A, type client } from './testing/http.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

/** Members of the owning team: one without groups, one in `hr`. Neither has the admins' bypass. */
const MEMBER: Identity = { team_id: 'team-a', key_id: 'key-member', role: 'member', groups: [] };
const HR: Identity = { team_id: 'team-a', key_id: 'key-hr', role: 'member', groups: ['hr'] };

let t: TestIngestion;
let db: Db;
let api: ReturnType<typeof client>;
let site: http.Server;
let siteUrl: string;

beforeAll(async () => {
  t = await startTestIngestion('ingestion-access', { allowLoopbackUrls: true });
  ({ db, api } = t);
  site = http.createServer((req, res) => {
    if (req.url === '/bad-location') return void res.writeHead(302, { location: 'http://[not-a-host/x' }).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('Fetched page about payroll.');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => site?.close(() => resolve()));
  await t?.stop();
});

const postJson = (collectionId: string, json: Record<string, unknown>, identity: Identity = TEAM_A) => api.call(`/v1/collections/${collectionId}/documents`, { json, identity });
const ids = (r: { body: any }) => (r.body.data as { id: string }[]).map((d) => d.id);
const documentCount = async (collectionId: string) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM documents WHERE collection_id = $1`, [collectionId])).rows[0]!.n;

describe('access_groups fails closed', () => {
  test.each([['"hr"', 'hr'], ['null', null], ['[1]', [1]], ['[""]', ['']], ['["hr", 2]', ['hr', 2]]])(
    'access_groups %s is refused at every door that sets metadata',
    async (_label, groups) => {
      const coll = await api.createCollection({ name: `Doors ${JSON.stringify(groups)}` });
      const metadata = { access_groups: groups };
      const existing = (await postJson(coll.id, { text: 'An open document.' })).body.documents[0].id as string;
      const form = new FormData();
      form.append('file', new Blob(['Salary bands.']), 'salaries.txt');
      form.append('metadata', JSON.stringify(metadata));
      const putForm = new FormData();
      putForm.append('file', new Blob(['Salary bands v2.']), 'salaries.txt');
      putForm.append('metadata', JSON.stringify(metadata));
      const doors = {
        multipart: await api.call(`/v1/collections/${coll.id}/documents`, { form }),
        text: await postJson(coll.id, { text: 'Salary bands.', metadata }),
        url: await postJson(coll.id, { url: `${siteUrl}/page.txt`, metadata }),
        'json replacement': await postJson(coll.id, { text: 'Salary bands v2.', metadata, replace_document_id: existing }),
        'PUT multipart': await api.call(`/v1/documents/${existing}`, { method: 'PUT', form: putForm }),
        'PUT json': await api.call(`/v1/documents/${existing}`, { method: 'PUT', json: { text: 'Salary bands v3.', metadata } }),
      };
      for (const [door, r] of Object.entries(doors)) {
        expect([door, r.status, r.body.error?.code, r.body.error?.param]).toEqual([door, 400, 'invalid_request', 'metadata.access_groups']);
      }
      expect(await documentCount(coll.id)).toBe(1);
    },
  );

  test('a list of names restricts, [] restricts nothing', async () => {
    const coll = await api.createCollection({ name: 'Valid groups' });
    const hr = await postJson(coll.id, { text: 'Salary bands for hr.', metadata: { access_groups: ['hr'] } });
    const open = await postJson(coll.id, { text: 'Open to all.', metadata: { access_groups: [] } });
    expect([hr.status, open.status]).toEqual([202, 202]);
    const seen = ids(await api.call(`/v1/collections/${coll.id}/documents`, { identity: MEMBER }));
    expect(seen).toEqual([open.body.documents[0].id]);
  });

  test('a row that holds a mistyped access_groups (written before validation) is seen by the owning admins only', async () => {
    const coll = await api.createCollection({ name: 'Old rows' });
    const view = await db.transaction((tx) =>
      insertDocument(tx, {
        collectionId: coll.id, title: 'Salaries', filename: 'salaries.txt', mime: 'text/plain', bytes: new TextEncoder().encode('Salary bands.'),
        sha256: 'old-row', metadata: { access_groups: 'hr' }, identity: TEAM_A, traceId: 'trace-old-row',
      }),
    );
    for (const who of [MEMBER, HR]) {
      expect((await api.call(`/v1/documents/${view.id}`, { identity: who })).status).toBe(404);
      expect(ids(await api.call(`/v1/collections/${coll.id}/documents`, { identity: who }))).toEqual([]);
    }
    expect((await api.call(`/v1/documents/${view.id}`)).status).toBe(200);
  });

  test('a pending replacement is visible only to who may see the document it replaces', async () => {
    const coll = await api.createCollection({ name: 'Pending replacement' });
    const target = (await postJson(coll.id, { text: 'Salary bands v1.', title: 'Salaries', metadata: { access_groups: ['hr'] } })).body.documents[0].id as string;
    await api.waitForDocument(target);
    // Stored but not enqueued: it stays pending. Its own metadata restricts nothing; the merged one will.
    const pending = await db.transaction((tx) =>
      insertDocument(tx, {
        collectionId: coll.id, title: 'Salaries 2025 (draft)', filename: 'salaries-2025.txt', mime: 'text/plain', bytes: new TextEncoder().encode('Salary bands v2.'),
        sha256: 'pending-replacement', metadata: { quarter: 'q3' }, identity: TEAM_A, traceId: 'trace-pending', replacesDocumentId: target,
      }),
    );
    expect((await api.call(`/v1/documents/${pending.id}`, { identity: MEMBER })).status).toBe(404);
    expect((await api.call(`/v1/documents/${pending.id}/events`, { identity: MEMBER })).status).toBe(404);
    const memberList = await api.call(`/v1/collections/${coll.id}/documents`, { identity: MEMBER });
    expect(JSON.stringify(memberList.body)).not.toMatch(new RegExp(`Salaries|${pending.id}`));
    expect((await api.call(`/v1/collections/${coll.id}`, { identity: MEMBER })).body.document_counts).toMatchObject({ queued: 0, ready: 0 });
    expect((await api.call(`/v1/documents/${pending.id}`, { identity: HR })).status).toBe(200);
    expect(ids(await api.call(`/v1/collections/${coll.id}/documents`, { identity: HR }))).toContain(target);
  });
});

describe('duplicates', () => {
  test('identical bytes in a document the caller cannot see are stored anew, never answered', async () => {
    const coll = await api.createCollection({ name: 'Duplicates' });
    const secret = 'Salary bands: grade 7 earns 91,000.';
    const hrDoc = (await postJson(coll.id, { text: secret, title: 'HR only', metadata: { access_groups: ['hr'], owner: 'payroll' } })).body.documents[0].id as string;
    const mine = await postJson(coll.id, { text: secret }, MEMBER);
    expect(mine.status).toBe(202);
    expect(mine.body.documents[0]).toMatchObject({ duplicate: false, title: null, metadata: {} });
    expect(JSON.stringify(mine.body)).not.toContain(hrDoc);
    const own = mine.body.documents[0].id as string;
    // Each caller is answered with the oldest copy it may see.
    expect((await postJson(coll.id, { text: secret }, MEMBER)).body.documents[0]).toMatchObject({ id: own, duplicate: true });
    expect((await postJson(coll.id, { text: secret }, HR)).body.documents[0]).toMatchObject({ id: hrDoc, duplicate: true });
  });
});

describe('bad input is a 400 naming the field, never a 500', () => {
  let coll: { id: string };
  beforeAll(async () => {
    coll = await api.createCollection({ name: 'Bad input' });
  });

  test('a NUL character in a title, a metadata key or value, or a file name', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['title', { text: 'Some text.', title: 'a\u0000b' }, 'title'],
      ['metadata value', { text: 'Some text.', metadata: { author: 'x\u0000' } }, 'metadata.author'],
      ['metadata list item', { text: 'Some text.', metadata: { tags: ['ok', 'x\u0000'] } }, 'metadata.tags.1'],
      ['metadata key', { text: 'Some text.', metadata: { 'a\u0000': 'x' } }, 'metadata.a\u0000'],
      ['lone surrogate', { text: 'Some text.', metadata: { author: 'x\ud800' } }, 'metadata.author'],
    ];
    for (const [label, body, param] of cases) {
      const r = await postJson(coll.id, body);
      expect([label, r.status, r.body.error?.code, r.body.error?.param]).toEqual([label, 400, 'invalid_request', param]);
    }
    const form = new FormData();
    form.append('file', new Blob(['Some text.']), 'a.txt');
    form.append('metadata', JSON.stringify({ author: 'x\u0000' }));
    expect((await api.call(`/v1/collections/${coll.id}/documents`, { form })).body.error).toMatchObject({ code: 'invalid_request', param: 'metadata.author' });
    const titled = new FormData();
    titled.append('file', new Blob(['Some text.']), 'a.txt');
    titled.append('title', 'a\u0000b');
    expect((await api.call(`/v1/collections/${coll.id}/documents`, { form: titled })).body.error).toMatchObject({ code: 'invalid_request', param: 'title' });
    expect(await documentCount(coll.id)).toBe(0);
  });

  test('URL ingestion: a path with bad percent-encoding, a redirect to an invalid location, a NUL in the file name', async () => {
    for (const path of ['/bad%zz.txt', '/bad%E0%A4.txt', '/bad-location', '/name%00.txt']) {
      const r = await postJson(coll.id, { url: `${siteUrl}${path}` });
      expect([path, r.status, r.body.error?.code, r.body.error?.param]).toEqual([path, 400, 'invalid_request', 'url']);
    }
    expect(await documentCount(coll.id)).toBe(0);
  });

  test('a crafted list cursor that Date.parse takes but Postgres would not', async () => {
    const uuid = '00000000-0000-4000-8000-000000000000';
    for (const value of [['1', uuid], ['2024-13-01 00:00:00+00', uuid], ['2024-02-30T00:00:00Z', uuid], ['2024-01-01 00:00:00+99', uuid], ['May 1, 2024', uuid]]) {
      const cursor = Buffer.from(JSON.stringify(value)).toString('base64url');
      const r = await api.call(`/v1/collections/${coll.id}/documents?cursor=${cursor}`);
      expect([value[0], r.status, r.body.error?.code, r.body.error?.param]).toEqual([value[0], 400, 'invalid_request', 'cursor']);
    }
  });

  test('the cursors the service hands out still page through every document', async () => {
    const paged = await api.createCollection({ name: 'Paged' });
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await postJson(paged.id, { text: `Page test document ${i}.` })).body.documents[0].id as string);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; body: any } = await api.call(`/v1/collections/${paged.id}/documents?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      seen.push(...ids(r));
      cursor = r.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(made);
  });
});

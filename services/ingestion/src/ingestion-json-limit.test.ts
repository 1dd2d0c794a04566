import http from 'node:http';
import { HEADERS } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { TEAM_A, TEST_SECRET } from './testing/http.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

const MIB = 1024 * 1024;

let t: TestIngestion;
let coll: { id: string };

beforeAll(async () => {
  // The job of the big upload below fails at once (too many characters): only its acceptance is looked at.
  t = await startTestIngestion('ingestion-json-limit', { maxExtractedChars: 1_000 });
  coll = await t.api.createCollection({ name: 'JSON limit' });
});

afterAll(async () => {
  await t?.stop();
});

/** A JSON request that declares its length and sends its body only once asked (100 Continue); resolves with the statuses seen. */
function send(method: string, path: string, body: string): Promise<{ statuses: number[]; body: any }> {
  return new Promise((resolve, reject) => {
    const statuses: number[] = [];
    const req = http.request(`${t.server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), expect: '100-continue', [HEADERS.identity]: signIdentity(TEAM_A, TEST_SECRET) },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ statuses: [...statuses, res.statusCode ?? 0], body: JSON.parse(text) }));
    });
    req.on('continue', () => {
      statuses.push(100);
      req.end(body);
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('JSON bodies: uploads may be large, settings may not', () => {
  test('a 2 MiB body to PATCH /v1/collections/:id is refused with 413 naming the limit, without its body being asked for', async () => {
    const res = await send('PATCH', `/v1/collections/${coll.id}`, JSON.stringify({ description: 'x'.repeat(2 * MIB) }));
    expect(res.statuses).toEqual([413]);
    expect(res.body.error).toMatchObject({ code: 'payload_too_large', message: `This JSON body (2 MiB) is larger than the 1 MiB that PATCH /v1/collections/${coll.id} accepts.` });
    // Sent whole, without waiting: the same answer.
    const whole = await t.api.call(`/v1/collections/${coll.id}`, { method: 'PATCH', json: { description: 'x'.repeat(2 * MIB) } });
    expect([whole.status, whole.body.error.code]).toEqual([413, 'payload_too_large']);
    const versions = await send('POST', `/v1/collections/${coll.id}/index-versions`, JSON.stringify({ embedding_model: 'openai/e', padding: 'x'.repeat(2 * MIB) }));
    expect(versions.statuses).toEqual([413]);
  });

  test('a 5 MiB JSON text upload is still read and accepted', async () => {
    const res = await send('POST', `/v1/collections/${coll.id}/documents`, JSON.stringify({ text: `# Notes\n\n${'a'.repeat(5 * MIB)}` }));
    expect(res.statuses).toEqual([100, 202]);
    expect(res.body.documents).toHaveLength(1);
  });
});

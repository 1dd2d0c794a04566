import { openTestDatabase, type Db } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import type { RunningQuire } from '../../scripts/start-quire.js';
import { DIMENSIONS, seedCollection } from '../../services/retrieval/src/testing/seed.js';
import { E2E_ADMIN_KEY } from '../e2e/quire-harness.js';
import { evalReply, startEvalQuire } from './eval-harness.js';

/**
 * A run searches with its creator's groups; what it brought back follows the documents it drew on
 * (as stored queries do): a teammate without the group gets the numbers, not the text or the ids.
 */
const TEAM = 'bench-access';
const SECRET_TEXT = 'SECRET HR salary data: CEO earns 950,000 euros yearly.';

/** evalReply, with a judge whose reason quotes the answer it grades (as real judges do). */
function reply(body: { messages: { role: string; content: unknown }[] }): string {
  const text = body.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
  if (!text.includes('You grade answers')) return evalReply(body);
  const answer = text.match(/<answer>\n([\s\S]*?)\n<\/answer>/)?.[1] ?? '';
  return JSON.stringify({ correctness: 1, faithfulness: 1, reason: `The answer says: ${answer}` });
}

describe('benchmark results and eval cases follow the access groups of the documents they drew on', () => {
  let db: Db;
  let openai: FakeOpenAI;
  let quire: RunningQuire;
  let hrDoc: string;
  let hrChunk: string;
  let openDoc: string;
  let setId: string;
  let benchmarkId: string;
  const keys = { creator: '', hrMember: '', member: '' };

  async function call(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string; body: any }> {
    const res = await fetch(`${quire.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, body: res.headers.get('content-type')?.includes('application/json') ? JSON.parse(text) : null };
  }
  const get = (key: string, path: string) => call(key, 'GET', path);

  async function key(role: string, groups: string[]): Promise<string> {
    const r = await call(E2E_ADMIN_KEY, 'POST', '/v1/keys', { team_id: TEAM, name: `${role}-${groups.join('.') || 'none'}`, role, groups });
    if (r.status !== 201) throw new Error(`key: ${r.status} ${r.text}`);
    return r.body.key as string;
  }

  /** Nothing of the restricted document: not its text, not its id, not its chunk's id. */
  const expectNothingRestricted = (text: string) => {
    for (const leak of ['SECRET', '950,000', hrDoc, hrChunk]) expect(text).not.toContain(leak);
  };

  beforeAll(async () => {
    openai = await startFakeOpenAI({ apiKey: 'sk-e2e', reply, dimensions: DIMENSIONS });
    db = await openTestDatabase();
    ({ quire } = await startEvalQuire(db, openai));
    await call(E2E_ADMIN_KEY, 'POST', '/v1/teams', { id: TEAM, name: TEAM });
    keys.creator = await key('knowledge-admin', ['hr']);
    keys.hrMember = await key('member', ['hr']);
    keys.member = await key('member', []);
    const seeded = await seedCollection(db, {
      teamId: TEAM,
      name: 'hr and canteen',
      embeddingModel: 'openai/text-embedding-3-small',
      generationModel: 'openai/gpt-4o-mini',
      documents: [
        { title: 'Salaries', chunks: [{ text: SECRET_TEXT }] },
        { title: 'Canteen', chunks: [{ text: 'Canteen opens at noon and serves soup.' }] },
      ],
    });
    [hrDoc, openDoc] = seeded.documentIds as [string, string];
    hrChunk = seeded.chunkIds[0]![0]!;
    await db.query(`UPDATE documents SET access_groups = '{hr}' WHERE id = $1`, [hrDoc]);

    const set = await call(keys.creator, 'POST', '/v1/eval-sets', {
      collection_id: seeded.collectionId,
      name: 'salaries and lunch',
      cases: [
        { question: 'What is the CEO salary?', relevant_document_ids: [hrDoc], reference_answer: 'The CEO earns 950,000 euros.' },
        { question: 'When does the canteen open?', relevant_document_ids: [openDoc], reference_answer: 'At noon.' },
        // Judged by chunk, without the document: the chunk's document decides.
        { question: 'Salary data and soup?', relevant: [{ chunk_id: hrChunk }, { document_id: openDoc }] },
      ],
    });
    expect(set.status).toBe(201);
    setId = set.body.id;
    const run = await call(keys.creator, 'POST', '/v1/benchmarks', {
      eval_set_id: setId,
      judge_model: 'openai/gpt-4o-mini',
      configurations: [{ name: 'answers', mode: 'keyword', top_k: 1, answer: true }, { name: 'retrieval', mode: 'keyword', top_k: 2 }],
    });
    expect(run.status).toBe(202);
    benchmarkId = run.body.id;
    for (const deadline = Date.now() + 60_000; ; ) {
      const b = await get(keys.creator, `/v1/benchmarks/${benchmarkId}`);
      if (b.body.status !== 'queued' && b.body.status !== 'running') {
        expect(b.body.status).toBe('completed');
        break;
      }
      if (Date.now() > deadline) throw new Error('benchmark did not finish');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 120_000);
  afterAll(async () => {
    await quire?.stop();
    await openai?.close();
    await db?.close();
  });

  const results = async (who: string) => {
    const r = await get(who, `/v1/benchmarks/${benchmarkId}/results?limit=100`);
    expect(r.status).toBe(200);
    return r;
  };
  const pick = (data: any[], config: string, question: string) => data.find((x) => x.configuration.name === config && x.question === question);

  test('the creator and another key with the group read every result whole', async () => {
    const own = await results(keys.creator);
    const salary = pick(own.body.data, 'answers', 'What is the CEO salary?');
    expect(salary).toMatchObject({ status: 'ok', redacted: false, redaction_reason: null, withheld_relevant: 0, relevant: [{ document_id: hrDoc, grade: 1 }] });
    expect(salary.answer).toContain('SECRET HR');
    expect(salary.ranked).toEqual([{ rank: 1, chunk_id: hrChunk, document_id: hrDoc }]);
    expect(salary.citations).toEqual([expect.objectContaining({ chunk_id: hrChunk, document_id: hrDoc })]);
    expect(salary.judge.reason).toContain('SECRET HR');
    expect((await get(keys.creator, `/v1/queries/${salary.query_id}`)).status).toBe(200);

    const colleague = await results(keys.hrMember);
    expect(colleague.body).toEqual(own.body);
  }, 30_000);

  test('a member without the group gets the metrics of a result drawn on a restricted document, not its text or ids (JSON and JSONL)', async () => {
    const whole = (await results(keys.creator)).body.data as any[];
    const page = await results(keys.member);
    expectNothingRestricted(page.text);
    const data = page.body.data as any[];
    expect(data.map((x) => `${x.configuration.index}:${x.case_id}`)).toEqual(whole.map((x) => `${x.configuration.index}:${x.case_id}`));
    // Every figure stays: metrics, latency and cost are the creator's.
    expect(data.map((x) => [x.metrics, x.latency_ms, x.cost_usd])).toEqual(whole.map((x) => [x.metrics, x.latency_ms, x.cost_usd]));

    const salary = pick(data, 'answers', 'What is the CEO salary?');
    expect(salary).toMatchObject({ status: 'ok', redacted: true, redaction_reason: expect.stringContaining('access groups'), answer: null, ranked: null, citations: null, relevant: [], withheld_relevant: 1 });
    expect(salary.judge).toEqual({ correctness: 1, faithfulness: 1, reason: null });
    expect(salary.metrics.faithfulness).toBe(1);
    expect(salary.metrics['ndcg@10']).toBe(1);
    expect(pick(data, 'retrieval', 'What is the CEO salary?')).toMatchObject({ redacted: true, ranked: null });
    // The stored query it ran as is hidden from the member by the same rule.
    expect((await get(keys.member, `/v1/queries/${salary.query_id}`)).status).toBe(404);

    // A result that drew only on open documents is the member's to read whole.
    const canteen = pick(data, 'answers', 'When does the canteen open?');
    expect(canteen).toEqual(pick(whole, 'answers', 'When does the canteen open?'));
    expect(canteen).toMatchObject({ redacted: false, withheld_relevant: 0 });
    expect(canteen.answer).toContain('Canteen');
    expect(canteen.ranked).toEqual([{ rank: 1, chunk_id: expect.any(String), document_id: openDoc }]);

    // Judged by the restricted chunk and an open document: the open judgment stays.
    expect(pick(data, 'retrieval', 'Salary data and soup?')).toMatchObject({ redacted: true, relevant: [{ document_id: openDoc, grade: 1 }], withheld_relevant: 1 });

    const jsonl = await get(keys.member, `/v1/benchmarks/${benchmarkId}/results?format=jsonl&limit=2`);
    expect(jsonl.status).toBe(200);
    expectNothingRestricted(jsonl.text);
    expect(jsonl.text.trim().split('\n').map((l) => JSON.parse(l))).toEqual(data);
  }, 30_000);

  test('the summary and the comparison carry numbers only, the same for every reader', async () => {
    const own = await get(keys.creator, `/v1/benchmarks/${benchmarkId}`);
    const member = await get(keys.member, `/v1/benchmarks/${benchmarkId}`);
    expect(member.status).toBe(200);
    expectNothingRestricted(member.text);
    expect(member.body.summary).toEqual(own.body.summary);
    expect(member.body.summary[0].metrics['ndcg@10'].mean).toEqual(expect.any(Number));

    const path = `/v1/benchmarks/${benchmarkId}/compare?a=answers&b=retrieval`;
    const compared = await get(keys.member, path);
    expect(compared.status).toBe(200);
    expectNothingRestricted(compared.text);
    expect(compared.body).toEqual((await get(keys.creator, path)).body);
  }, 30_000);

  test('eval-set cases withhold judgments and the reference answer naming a document the reader may not read, and count them', async () => {
    for (const path of [`/v1/eval-sets/${setId}`, `/v1/eval-sets/${setId}/cases`]) {
      const member = await get(keys.member, path);
      expect(member.status).toBe(200);
      expectNothingRestricted(member.text);
      const [salary, canteen, mixed] = member.body.data;
      expect(salary).toMatchObject({ question: 'What is the CEO salary?', relevant: [], withheld_relevant: 1, reference_answer: null, reference_answer_withheld: true });
      expect(canteen).toMatchObject({ relevant: [{ document_id: openDoc, grade: 1 }], withheld_relevant: 0, reference_answer: 'At noon.', reference_answer_withheld: false });
      expect(mixed).toMatchObject({ relevant: [{ document_id: openDoc, grade: 1 }], withheld_relevant: 1, reference_answer: null, reference_answer_withheld: false });

      for (const who of [keys.creator, keys.hrMember]) {
        const whole = await get(who, path);
        expect(whole.body.data.map((c: any) => [c.relevant, c.withheld_relevant, c.reference_answer])).toEqual([
          [[{ document_id: hrDoc, grade: 1 }], 0, 'The CEO earns 950,000 euros.'],
          [[{ document_id: openDoc, grade: 1 }], 0, 'At noon.'],
          [[{ chunk_id: hrChunk, grade: 1 }, { document_id: openDoc, grade: 1 }], 0, null],
        ]);
      }
    }
  }, 30_000);
});

import type { Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';
import { BREAK } from './safe-markdown-stream.js';

/**
 * A streamed answer's pieces are sanitized one by one, and a piece that could join the next one (cut
 * at the hold limit, or ending in `!` `]` `\` `&` `<`) is followed by a zero-width space in what the
 * client renders. That character is the client's only: the answer stored, cited and returned is the
 * one a plain JSON request gets, without it.
 */
const WHO: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };
/** An aside whose `[` never closes, longer than the stream's hold limit: the stream must cut it. */
const ASIDE = `[aside: ${'the harbour office keeps the printed tables by the door '.repeat(60)}`;
const TEXT = `High tide at Port Zephyr is at 5pm [1]. ${ASIDE}and that is all [1].`;
/** The model's output in deltas of 40 characters. */
const DELTAS = TEXT.match(/[\s\S]{1,40}/g)!;

let harness: RetrievalHarness;
let seeded: SeededCollection;

beforeAll(async () => {
  harness = await startRetrievalForTest({
    reply: () => DELTAS,
    seed: async ({ db }) => {
      seeded = await seedCollection(db, { teamId: WHO.team_id, name: 'break', embeddingModel: 'fake/embed', generationModel: 'fake/gen', documents: [HARBOUR_GUIDE] });
    },
  });
});
afterAll(() => harness?.close());

const ask = (stream: boolean) =>
  fetch(`${harness.url}/v1/collections/${seeded.collectionId}/answer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(WHO, SECRET) },
    body: JSON.stringify({ question: 'When is high tide at Port Zephyr?', ...(stream ? { stream: true } : {}) }),
  });

const storedAnswer = async (queryId: string) =>
  (await harness.db.query<{ answer: string }>(`SELECT answer FROM queries WHERE id = $1`, [queryId])).rows[0]!.answer;

test('a streamed answer cut at the hold limit is stored, cited and returned as the JSON answer is; the break is in its deltas only', async () => {
  expect(ASIDE.length).toBeGreaterThan(2000);
  const plain = await ask(false);
  expect(plain.status).toBe(200);
  const json = (await plain.json()) as { query_id: string; answer: string; citations: unknown[] };
  expect(json.answer).toBe(TEXT);
  expect(json.answer).not.toContain(BREAK);

  const streamed = await ask(true);
  expect(streamed.status).toBe(200);
  const events = (await streamed.text())
    .split('\n\n')
    .filter(Boolean)
    .map((b) => ({ event: /^event: (.*)$/m.exec(b)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(b)![1]!) as Record<string, unknown> }));
  const shown = events.filter((e) => e.event === 'delta').map((e) => e.data.text as string).join('');
  const queryId = events.find((e) => e.event === 'retrieval')!.data.query_id as string;
  const citations = events.find((e) => e.event === 'citations')!.data.citations;

  // The client got the break where the stream cut the aside, and otherwise the JSON answer.
  expect(shown).toContain(BREAK);
  expect(shown.split(BREAK).join('')).toBe(json.answer);
  // What is stored and cited is the JSON answer, offsets included.
  expect(await storedAnswer(queryId)).toBe(json.answer);
  expect(await storedAnswer(json.query_id)).toBe(json.answer);
  expect(citations).toEqual(json.citations);
  expect((json.citations as unknown[]).length).toBeGreaterThan(0);
});

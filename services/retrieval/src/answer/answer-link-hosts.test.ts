import type { Db } from '@quire/db';
import { openTestDatabase } from '@quire/db';
import type { Identity } from '@quire/contracts';
import { createLogger, listen, signIdentity, type RunningServer } from '@quire/server-kit';
import { createRetrievalService, type RetrievalService } from '../retrieval-service.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { DIMENSIONS, seedCollection, type SeededCollection } from '../testing/seed.js';

/** QUIRE_ANSWER_LINK_HOSTS reaches the answers: links to those hosts stay, others are unwrapped to their text. */
const SECRET = 'test-secret-for-retrieval-0123456789';
const WHO: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };
let db: Db;
let server: RunningServer;
let service: RetrievalService | undefined;
let seeded: SeededCollection;

beforeAll(async () => {
  db = await openTestDatabase();
  const models = createFakeGatewayModels(db, DIMENSIONS);
  seeded = await seedCollection(db, {
    teamId: 'team-a', name: 'links', embeddingModel: 'fake/embed', generationModel: 'fake/gen',
    documents: [{ title: 'Travel', chunks: [{ text: 'Book travel through the travel desk before the trip.', page: 1 }] }],
  });
  models.reply = () => ['Use the [travel desk](https://travel.intranet.example.com/book) [1], not [this](https://elsewhere.example.net/x?d=1).'];
  service = await createRetrievalService({ db, models, logger: createLogger({}, 'error'), internalSecret: SECRET, answerLinkHosts: ['intranet.example.com'] });
  server = await listen(service.app, 0);
});
afterAll(async () => {
  await server?.close();
  await service?.stop();
  await db?.close();
});

test('an answer keeps links to the configured hosts and their subdomains, and unwraps the rest', async () => {
  const res = await fetch(`${server.url}/v1/collections/${seeded.collectionId}/answer`, {
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

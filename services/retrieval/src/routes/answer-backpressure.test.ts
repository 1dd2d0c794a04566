import http from 'node:http';
import { openPaused as openPausedClient } from '@quire/fakes';
import type { Identity } from '@quire/contracts';
import { emptyUsage, type StreamPartV1 } from '@quire/models';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { HARBOUR_GUIDE, seedCollection, type SeededCollection } from '../testing/seed.js';

/**
 * A caller that reads a streamed answer slowly must slow the generation down instead of making
 * retrieval buffer the answer: the pipeline does not read the model's stream while the caller's
 * socket is full.
 */

const TEAM: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };
/** 4,000 deltas of 4 KiB: 16 MiB, several times what the socket buffers to a caller take in. */
const DELTAS = 4000;
const PIECE = 'lorem ipsum '.repeat(341);
/** Under the socket's 16 KiB mark, a batch held at that mark, and the event that crossed it; with margin. */
const BUFFER_BOUND = 128 * 1024;

let harness: RetrievalHarness;
let collection: SeededCollection;
/** The response of the stream being tested, as the service got it. */
let streamRes: http.ServerResponse | undefined;
/** Deltas the model's stream has handed over; `finishNow` makes it finish instead of handing over the next. */
let pulled = 0;
let finishNow = false;

/**
 * Like a provider's stream over the network: 16 deltas a chunk, each chunk in its own turn. A test
 * finishes it early once it has seen it held, as a shorter answer would have: storing and citing a
 * 16 MiB answer takes seconds that prove nothing here.
 */
async function* flood(): AsyncIterable<StreamPartV1> {
  for (let i = 0; i < DELTAS && !finishNow; i++) {
    if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    pulled++;
    yield { type: 'text-delta', text: PIECE };
  }
  yield { type: 'finish', finishReason: 'stop', usage: emptyUsage() };
}

beforeAll(async () => {
  harness = await startRetrievalForTest({
    seed: async ({ db, models }) => {
      const generationModel = models.generationModel;
      models.generationModel = (name, context) => ({ ...generationModel(name, context), doStream: async () => ({ stream: flood() }) });
      collection = await seedCollection(db, { teamId: TEAM.team_id, name: 'main', embeddingModel: 'fake/embed', generationModel: 'fake/gen', documents: [HARBOUR_GUIDE] });
    },
    handler: (app) => (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url?.startsWith('/v1/collections/')) streamRes = res;
      app(req, res);
    },
  });
});

afterAll(() => harness?.close());

/** A slow reader of retrieval's answer (see @quire/fakes openPaused). */
function openPaused(path: string, body: unknown) {
  return openPausedClient(`${harness.url}${path}`, body, { 'x-quire-identity': signIdentity(TEAM, SECRET) });
}

/**
 * Resolves once the generation is held (the caller's socket is full and the model's stream was not
 * read for ten polls in a row) or the model's stream was read to its last delta; meanwhile the response's
 * buffer is sampled at each poll. The model's stream moves every turn while it is read.
 */
async function generationHeldOrDone(): Promise<{ maxBuffered: number }> {
  let maxBuffered = 0;
  let last = -1;
  let still = 0;
  while (pulled < DELTAS && still < 10) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    maxBuffered = Math.max(maxBuffered, streamRes?.writableLength ?? 0);
    still = streamRes?.writableNeedDrain && pulled === last ? still + 1 : 0;
    last = pulled;
  }
  return { maxBuffered };
}

// The answer is trimmed (its deltas add up to the stored answer): the last piece's trailing space is not sent.
const blocks = (text: string) => text.split('\n\n').filter(Boolean);

test.each([
  {
    name: 'answer',
    path: () => `/v1/collections/${collection.collectionId}/answer`,
    body: { question: 'When is high tide at Port Zephyr?', stream: true },
    check: (text: string) => {
      const events = blocks(text).map((b) => ({ event: /^event: (.*)$/m.exec(b)![1], data: /^data: (.*)$/m.exec(b)![1]! }));
      expect(events.filter((e) => e.event === 'delta').map((e) => JSON.parse(e.data).text).join('')).toBe(PIECE.repeat(pulled).trimEnd());
      expect(events.at(-1)!.event).toBe('done');
    },
  },
  {
    name: 'kb chat',
    path: () => `/v1/collections/${collection.collectionId}/chat`,
    body: { model: 'kb/main', stream: true, messages: [{ role: 'user', content: 'When is high tide at Port Zephyr?' }] },
    check: (text: string) => {
      const events = blocks(text).map((b) => b.slice('data: '.length));
      expect(events.at(-1)).toBe('[DONE]');
      expect(events.slice(0, -1).map((e) => JSON.parse(e).choices[0]?.delta?.content ?? '').join('')).toBe(PIECE.repeat(pulled).trimEnd());
    },
  },
])('$name: a caller that reads nothing holds the generation back, a socket buffer of it is buffered, and it gets all of it once it reads', async ({ path, body, check }) => {
  pulled = 0;
  finishNow = false;
  const caller = await openPaused(path(), body);
  const { maxBuffered } = await generationHeldOrDone();
  // Held short of the end, with no more than a socket buffer's worth waiting here.
  expect(pulled).toBeLessThan(DELTAS);
  expect(maxBuffered).toBeLessThan(BUFFER_BOUND);

  finishNow = true;
  // Every delta the model handed over reaches the caller, and the stream's end after them.
  check(await caller.read());
});

import type { RequestListener } from 'node:http';
import { openTestDatabase, type Db } from '@quire/db';
import { createLogger, listen, type RunningServer } from '@quire/server-kit';
import { createRetrievalService, type RetrievalService, type RetrievalServiceDeps } from '../retrieval-service.js';
import { createFakeGatewayModels, type FakeGatewayModels } from './fake-gateway-models.js';
import { DIMENSIONS } from './seed.js';

/** The internal secret of every test retrieval service: sign identities with it. */
export const SECRET = 'test-secret-for-retrieval-0123456789';

export interface RetrievalHarness {
  db: Db;
  models: FakeGatewayModels;
  service: RetrievalService;
  /** The listening server's base URL. */
  url: string;
  /** Closes the server, stops the service (its background benchmark resumes), then closes the database. */
  close(): Promise<void>;
}

/**
 * A retrieval service over a fresh test database and the fake gateway models, listening on a free
 * port. `seed` runs once the database and models exist, before the service starts (as ingestion
 * would have written them before start-up); the test's own seeding and model replies go there.
 */
export async function startRetrievalForTest(
  options: {
    /** The fake embedder's native size (default DIMENSIONS). */
    dimensions?: number;
    /** What the fake generator says (default: 'I do not know.'). */
    reply?: FakeGatewayModels['reply'];
    seed?: (harness: { db: Db; models: FakeGatewayModels }) => Promise<void> | void;
    /** Other service options (answerLinkHosts, a labelled logger, ...). */
    deps?: Partial<Omit<RetrievalServiceDeps, 'db' | 'models'>>;
    /** Wraps the service's app in the listening server's handler (to watch requests, say). */
    handler?: (app: RetrievalService['app']) => RequestListener;
  } = {},
): Promise<RetrievalHarness> {
  const db = await openTestDatabase();
  let service: RetrievalService | undefined;
  let server: RunningServer | undefined;
  // The order matters: a background resume once logged "PGlite is closed" when the db closed first.
  const close = async () => {
    await server?.close();
    await service?.stop();
    await db.close();
  };
  try {
    const models = createFakeGatewayModels(db, options.dimensions ?? DIMENSIONS);
    if (options.reply) models.reply = options.reply;
    await options.seed?.({ db, models });
    const started = await createRetrievalService({ db, models, logger: createLogger({}, 'error'), internalSecret: SECRET, ...options.deps });
    service = started;
    server = await listen(options.handler ? options.handler(started.app) : started.app, 0);
    return { db, models, service: started, url: server.url, close };
  } catch (error) {
    await close();
    throw error;
  }
}

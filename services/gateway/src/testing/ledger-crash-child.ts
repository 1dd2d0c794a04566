/**
 * A gateway in its own process for the ledger's crash test (ledger-journal.test.ts): journal in
 * LEDGER_JOURNAL_DIR, background flushes held back so that answered rows exist only in the journal
 * when the test kills this process with SIGKILL.
 */
import { migrate, openPGlite } from '@quire/db';
import { createModelRegistry, createPriceBook } from '@quire/models';
import { createLogger, listen } from '@quire/server-kit';
import { createGatewayService } from '../gateway-service.js';
import { createModelCatalog } from '../model-catalog.js';
import { scopedFetch } from '../routing/attempt-timer.js';
import { TEST_ADMIN_KEY } from './gateway-harness.js';

const logger = createLogger({ test: 'ledger-crash-child' }, 'error');
const db = await openPGlite({});
await migrate(db);
const registry = createModelRegistry({ openai: { type: 'openai-compatible', baseURL: process.env.UPSTREAM_URL!, apiKey: 'sk-test', allowLoopback: true } }, { fetch: scopedFetch });
const priceBook = createPriceBook({ 'openai/gpt-4o-mini': { input: '1', output: '2', asOf: 'test', source: 'test' } });
const { handler } = createGatewayService({
  db, catalog: createModelCatalog(registry, priceBook, logger), logger, internalSecret: 'test-secret-test-secret-test-secret-0123',
  upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl: 'http://127.0.0.1:9' }, routesFile: null,
  ledger: { journalDir: process.env.LEDGER_JOURNAL_DIR!, flushDelayMs: 3_600_000 },
  governance: { adminKey: TEST_ADMIN_KEY },
});
const server = await listen(handler, 0);
process.stdout.write(`READY ${server.port}\n`);

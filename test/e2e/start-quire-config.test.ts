import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GatewayConfigError } from '@quire/gateway';
import { IngestionConfigError } from '@quire/ingestion';
import { RetrievalConfigError } from '@quire/retrieval';
import { createLogger } from '@quire/server-kit';
import { startQuire } from '../../scripts/start-quire.js';

const logger = createLogger({ test: 'start-quire-config' }, 'error');

/**
 * The all-in-one start reads each service's settings with that service's own reader
 * (readGatewayEnv, readIngestionEnv, readRetrievalEnv): a bad value stops it with that service's
 * typed error, the one its standalone main.ts exits 2 on, before anything is opened or created.
 */
describe('the all-in-one start refuses a bad setting with the reading service\'s error', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'quire-config-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it.each([
    [{ QUIRE_ANSWER_LINK_HOSTS: 'https://intranet.example.com/' }, RetrievalConfigError, 'retrieval_config_invalid', 'Invalid retrieval configuration: QUIRE_ANSWER_LINK_HOSTS: not a host name: https://intranet.example.com/'],
    [{ QUIRE_QUERY_RETENTION_DAYS: '30d' }, RetrievalConfigError, 'retrieval_config_invalid', 'Invalid retrieval configuration: QUIRE_QUERY_RETENTION_DAYS must be a whole number of days'],
    [{ INGESTION_QUEUE: 'acme:ingestion' }, IngestionConfigError, 'ingestion_config_invalid', 'Invalid ingestion configuration: INGESTION_QUEUE must be a BullMQ queue name'],
    [{ REDIS_URL: '127.0.0.1:6379' }, GatewayConfigError, 'gateway_config_invalid', 'Invalid gateway configuration: REDIS_URL must be a URL such as redis://127.0.0.1:6379/0'],
  ])('%j', async (env, type, code, message) => {
    const started = startQuire({ port: 0, logger, env: { QUIRE_DATA_DIR: dataDir, ...env } });
    await expect(started).rejects.toBeInstanceOf(type);
    await expect(started).rejects.toMatchObject({ code });
    await expect(started).rejects.toThrow(message);
    expect(await readdir(dataDir)).toEqual([]);
  });
});

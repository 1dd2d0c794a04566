import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, createLogger } from '@quire/server-kit';
import { startQuire } from '../../scripts/start-quire.js';

const logger = createLogger({ test: 'start-quire-config' }, 'error');

/**
 * The all-in-one start reads each service's settings with that service's own reader
 * (readGatewayEnv, readIngestionEnv, readRetrievalEnv): a bad value stops it with that service's
 * ConfigError (code `<service>_config_invalid`), the one its standalone main.ts exits 2 on, before
 * anything is opened or created.
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
    [{ QUIRE_ANSWER_LINK_HOSTS: 'https://intranet.example.com/' }, 'retrieval_config_invalid', 'QUIRE_ANSWER_LINK_HOSTS', 'Invalid retrieval configuration: QUIRE_ANSWER_LINK_HOSTS: not a host name: https://intranet.example.com/'],
    [{ QUIRE_QUERY_RETENTION_DAYS: '30d' }, 'retrieval_config_invalid', 'QUIRE_QUERY_RETENTION_DAYS', 'Invalid retrieval configuration: QUIRE_QUERY_RETENTION_DAYS must be a whole number of days'],
    [{ INGESTION_QUEUE: 'acme:ingestion' }, 'ingestion_config_invalid', 'INGESTION_QUEUE', 'Invalid ingestion configuration: INGESTION_QUEUE must be a BullMQ queue name'],
    [{ REDIS_URL: '127.0.0.1:6379' }, 'gateway_config_invalid', 'REDIS_URL', 'Invalid gateway configuration: REDIS_URL must be a URL such as redis://127.0.0.1:6379/0'],
    [{ QUIRE_REDIS_PREFIX: 'acme:prod' }, 'gateway_config_invalid', 'QUIRE_REDIS_PREFIX', 'Invalid gateway configuration: QUIRE_REDIS_PREFIX must be 1 to 64 letters'],
  ])('%j', async (env, code, variable, message) => {
    const started = startQuire({ port: 0, logger, env: { QUIRE_DATA_DIR: dataDir, ...env } });
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toMatchObject({ code, variables: [variable] });
    await expect(started).rejects.toThrow(message);
    expect(await readdir(dataDir)).toEqual([]);
  });
});

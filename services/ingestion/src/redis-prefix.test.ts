import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigError, createLogger } from '@quire/server-kit';
import { readIngestionEnv, readStandaloneIngestionEnv } from './config.js';
import { createRedisProviderLimiter } from './embed/provider-semaphore.js';

/**
 * QUIRE_REDIS_PREFIX in the ingestion service: read as the gateway reads it, and the provider slots
 * (`quire:sem:<queue>:<provider>`) go under it. The queue's own keys: packages/jobs/src/redis-prefix.test.ts
 * and, wired through the all-in-one start, test/e2e/redis-prefix.test.ts.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const STANDALONE = { DATABASE_URL: 'postgres://quire:pw@postgres:5432/quire', QUIRE_INTERNAL_SECRET: 'ingestion-prefix-test-secret-0123456789' };

function refusal(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    if (ConfigError.is(error)) return error;
    throw error;
  }
  throw new Error('expected the environment to be refused');
}

describe('QUIRE_REDIS_PREFIX', () => {
  test('unset or blank: no namespace (the keys of earlier versions)', () => {
    for (const env of [{}, { QUIRE_REDIS_PREFIX: '' }, { QUIRE_REDIS_PREFIX: '  ' }]) expect(readIngestionEnv(env).QUIRE_REDIS_PREFIX).toBeUndefined();
  });

  test('read in both modes', () => {
    expect(readIngestionEnv({ QUIRE_REDIS_PREFIX: 'acme-prod' }).QUIRE_REDIS_PREFIX).toBe('acme-prod');
    expect(readStandaloneIngestionEnv({ ...STANDALONE, QUIRE_REDIS_PREFIX: ' acme-prod ' }).QUIRE_REDIS_PREFIX).toBe('acme-prod');
  });

  test('a value with a separator, a space or a brace stops the start, naming the variable', () => {
    for (const value of ['acme:prod', 'acme prod', '{acme}']) {
      const error = refusal(() => readIngestionEnv({ QUIRE_REDIS_PREFIX: value }));
      expect(error).toMatchObject({ code: 'ingestion_config_invalid', variables: ['QUIRE_REDIS_PREFIX'] });
    }
  });

  test('the provider slots are under the namespace', async () => {
    const redis = new Redis(REDIS_URL);
    const queueName = `prefix-test-${randomUUID()}`;
    const namespace = `prefix-test-${randomUUID().slice(0, 8)}`;
    const limiter = createRedisProviderLimiter({ redisUrl: REDIS_URL, queueName, redisNamespace: namespace, limit: 1, logger: createLogger({ test: 'ingestion-prefix' }, 'error') });
    try {
      const seen = await limiter.forModel('openai/text-embedding-3-small').run(async () => ({
        namespaced: await redis.exists(`${namespace}:quire:sem:${queueName}:openai`),
        plain: await redis.exists(`quire:sem:${queueName}:openai`),
      }));
      expect(seen).toEqual({ namespaced: 1, plain: 0 });
    } finally {
      await limiter.close();
      const keys = await redis.keys(`*${queueName}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });
});

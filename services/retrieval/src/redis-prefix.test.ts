import { ConfigError } from '@quire/server-kit';
import { readRetrievalEnv, readStandaloneRetrievalEnv } from './config.js';

/**
 * QUIRE_REDIS_PREFIX in the retrieval service, read as the gateway reads it; the benchmark queue's keys
 * go under it (packages/jobs/src/redis-prefix.test.ts, and through the all-in-one start test/e2e/redis-prefix.test.ts).
 */
const STANDALONE = { DATABASE_URL: 'postgres://quire:pw@postgres:5432/quire', QUIRE_INTERNAL_SECRET: 'retrieval-prefix-test-secret-0123456789' };

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
    for (const env of [{}, { QUIRE_REDIS_PREFIX: '' }, { QUIRE_REDIS_PREFIX: '  ' }]) expect(readRetrievalEnv(env).QUIRE_REDIS_PREFIX).toBeUndefined();
  });

  test('read in both modes', () => {
    expect(readRetrievalEnv({ QUIRE_REDIS_PREFIX: 'acme-prod' }).QUIRE_REDIS_PREFIX).toBe('acme-prod');
    expect(readStandaloneRetrievalEnv({ ...STANDALONE, QUIRE_REDIS_PREFIX: ' acme-prod ' }).QUIRE_REDIS_PREFIX).toBe('acme-prod');
  });

  test('a value with a separator, a space or a brace stops the start, naming the variable', () => {
    for (const value of ['acme:prod', 'acme prod', '{acme}']) {
      const error = refusal(() => readRetrievalEnv({ QUIRE_REDIS_PREFIX: value }));
      expect(error).toMatchObject({ code: 'retrieval_config_invalid', variables: ['QUIRE_REDIS_PREFIX'] });
    }
  });
});

import { thrownBy } from '@quire/fakes';
import { ConfigError } from '@quire/server-kit';
import { readRetrievalEnv, readStandaloneRetrievalEnv } from './config.js';

const SECRET = 'retrieval-config-test-secret-0123456789';
const STANDALONE = { DATABASE_URL: 'postgres://quire:pw@postgres:5432/quire', QUIRE_INTERNAL_SECRET: SECRET };

const refusal = (read: () => unknown): ConfigError => thrownBy(read, ConfigError.is);

describe('readRetrievalEnv (both modes)', () => {
  test('starts from nothing: the defaults, no database or secret (the embedded mode has its own)', () => {
    expect(readRetrievalEnv({})).toEqual({
      QUIRE_GATEWAY_URL: 'http://127.0.0.1:8080',
      RETRIEVAL_BENCHMARK_QUEUE: 'quire-benchmarks',
      RETRIEVAL_PORT: 8082,
      RETRIEVAL_HOST: '127.0.0.1',
      QUIRE_SHUTDOWN_DRAIN_MS: 8000,
      QUIRE_SSE_STALL_MS: 60_000,
      QUIRE_ANSWER_LINK_HOSTS: undefined,
      QUIRE_QUERY_RETENTION_DAYS: undefined,
    });
  });

  test('reads the settings docker-compose sets, link hosts and retention days included', () => {
    expect(
      readRetrievalEnv({
        ...STANDALONE, REDIS_URL: 'redis://redis:6379/0', QUIRE_GATEWAY_URL: 'http://gateway:8080', RETRIEVAL_HOST: '0.0.0.0', RETRIEVAL_PORT: '8082',
        RETRIEVAL_BENCHMARK_QUEUE: 'acme-benchmarks', QUIRE_ANSWER_LINK_HOSTS: 'Intranet.example.com, tickets.example.com', QUIRE_QUERY_RETENTION_DAYS: '30',
      }),
    ).toMatchObject({
      DATABASE_URL: STANDALONE.DATABASE_URL, QUIRE_INTERNAL_SECRET: SECRET, REDIS_URL: 'redis://redis:6379/0', QUIRE_GATEWAY_URL: 'http://gateway:8080',
      RETRIEVAL_HOST: '0.0.0.0', RETRIEVAL_PORT: 8082, RETRIEVAL_BENCHMARK_QUEUE: 'acme-benchmarks',
      QUIRE_ANSWER_LINK_HOSTS: ['intranet.example.com', 'tickets.example.com'], QUIRE_QUERY_RETENTION_DAYS: 30,
    });
  });

  test.each([
    ['DATABASE_URL', 'my database', 'DATABASE_URL must be a URL such as postgres://user:password@host:5432/quire'],
    ['REDIS_URL', '127.0.0.1:6379', 'REDIS_URL must be a URL such as redis://127.0.0.1:6379/0'],
    ['QUIRE_GATEWAY_URL', 'the gateway', 'QUIRE_GATEWAY_URL must be a URL such as http://gateway:8080'],
    ['QUIRE_INTERNAL_SECRET', 'too-short', 'QUIRE_INTERNAL_SECRET must be at least 32 characters (shared with the gateway)'],
    ['RETRIEVAL_BENCHMARK_QUEUE', 'acme:benchmarks', 'RETRIEVAL_BENCHMARK_QUEUE must be a BullMQ queue name: not empty, no ":" and no spaces'],
    ['RETRIEVAL_PORT', 'eighty-two', 'RETRIEVAL_PORT: Invalid input: expected number, received NaN'],
    ['QUIRE_ANSWER_LINK_HOSTS', 'https://intranet.example.com/', 'QUIRE_ANSWER_LINK_HOSTS: not a host name: https://intranet.example.com/ (write names like intranet.example.com, comma-separated, without scheme or path)'],
    ['QUIRE_QUERY_RETENTION_DAYS', '30d', 'QUIRE_QUERY_RETENTION_DAYS must be a whole number of days from 1 to 36500 (unset keeps queries forever), not "30d"'],
  ])('refuses %s=%j, naming it once', (name, value, message) => {
    const error = refusal(() => readRetrievalEnv({ [name]: value }));
    expect(error.code).toBe('retrieval_config_invalid');
    expect(error.issues).toEqual([message]);
    expect(error.message).toBe(`Invalid retrieval configuration: ${message}`);
  });

  test('names every bad setting at once', () => {
    expect(refusal(() => readRetrievalEnv({ REDIS_URL: 'redis', QUIRE_QUERY_RETENTION_DAYS: '0' })).issues).toEqual([
      'REDIS_URL must be a URL such as redis://127.0.0.1:6379/0',
      'QUIRE_QUERY_RETENTION_DAYS must be a whole number of days from 1 to 36500 (unset keeps queries forever), not "0"',
    ]);
  });
});

describe('readStandaloneRetrievalEnv (main.ts)', () => {
  test('needs DATABASE_URL and QUIRE_INTERNAL_SECRET, and says what each is', () => {
    expect(refusal(() => readStandaloneRetrievalEnv({})).issues).toEqual([
      'DATABASE_URL is required (PostgreSQL with pgvector, shared with the other services)',
      'QUIRE_INTERNAL_SECRET is required (at least 32 characters, shared with the gateway)',
    ]);
    expect(refusal(() => readStandaloneRetrievalEnv({ ...STANDALONE, DATABASE_URL: '' })).issues).toEqual(['DATABASE_URL is required (PostgreSQL with pgvector, shared with the other services)']);
    expect(refusal(() => readStandaloneRetrievalEnv({ ...STANDALONE, QUIRE_INTERNAL_SECRET: 'short' })).issues).toEqual([
      'QUIRE_INTERNAL_SECRET must be at least 32 characters (shared with the gateway)',
    ]);
  });

  test('QUIRE_GATEWAY_URL has the same default as in ingestion: the gateway at its own default address', () => {
    const env = readStandaloneRetrievalEnv(STANDALONE);
    expect(env).toEqual(readRetrievalEnv(STANDALONE));
    expect(env.QUIRE_GATEWAY_URL).toBe('http://127.0.0.1:8080');
  });
});

/** The benchmark queue's keys under it: packages/jobs/src/redis-prefix.test.ts, and through the all-in-one start test/e2e/redis-prefix.test.ts. */
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
      expect(refusal(() => readRetrievalEnv({ QUIRE_REDIS_PREFIX: value }))).toMatchObject({ code: 'retrieval_config_invalid', variables: ['QUIRE_REDIS_PREFIX'] });
    }
  });
});

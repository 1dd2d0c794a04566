import { readIngestionEnv, readStandaloneIngestionEnv } from './config.js';
import { thrownBy } from '@quire/fakes';
import { ConfigError } from '@quire/server-kit';
import { readIngestionLimitsEnv } from './limits-env.js';

const SECRET = 'ingestion-config-test-secret-0123456789';
const STANDALONE = { DATABASE_URL: 'postgres://quire:pw@postgres:5432/quire', QUIRE_INTERNAL_SECRET: SECRET };

const refusal = (read: () => unknown): ConfigError => thrownBy(read, ConfigError.is);

describe('readIngestionEnv (both modes)', () => {
  test('starts from nothing: the defaults, no database or secret (the embedded mode has its own), the default limits', () => {
    const env = readIngestionEnv({});
    expect(env).toEqual({
      QUIRE_GATEWAY_URL: 'http://127.0.0.1:8080',
      INGESTION_PORT: 8081,
      INGESTION_HOST: '127.0.0.1',
      INGESTION_QUEUE: 'quire-ingestion',
      QUIRE_SHUTDOWN_DRAIN_MS: 8000,
      QUIRE_SSE_STALL_MS: 60_000,
      limits: readIngestionLimitsEnv({}),
    });
  });

  test('reads the settings docker-compose sets, and the QUIRE_INGEST_* limits as readIngestionLimitsEnv does', () => {
    const raw = {
      ...STANDALONE, REDIS_URL: 'redis://redis:6379/0', QUIRE_GATEWAY_URL: 'http://gateway:8080',
      INGESTION_HOST: '0.0.0.0', INGESTION_PORT: '8081', INGESTION_QUEUE: 'acme-ingestion', QUIRE_INGEST_MAX_PAGES: '300',
    };
    const env = readIngestionEnv(raw);
    expect(env).toMatchObject({
      DATABASE_URL: STANDALONE.DATABASE_URL, QUIRE_INTERNAL_SECRET: SECRET, REDIS_URL: 'redis://redis:6379/0', QUIRE_GATEWAY_URL: 'http://gateway:8080',
      INGESTION_HOST: '0.0.0.0', INGESTION_PORT: 8081, INGESTION_QUEUE: 'acme-ingestion',
    });
    expect(env.limits).toEqual(readIngestionLimitsEnv(raw));
    expect(env.limits.maxPages).toBe(300);
  });

  test.each([
    ['DATABASE_URL', 'my database', 'DATABASE_URL must be a URL such as postgres://user:password@host:5432/quire'],
    ['REDIS_URL', '127.0.0.1:6379', 'REDIS_URL must be a URL such as redis://127.0.0.1:6379/0'],
    ['REDIS_URL', '', 'REDIS_URL must be a URL such as redis://127.0.0.1:6379/0'],
    ['QUIRE_GATEWAY_URL', 'the gateway', 'QUIRE_GATEWAY_URL must be a URL such as http://gateway:8080'],
    ['QUIRE_INTERNAL_SECRET', 'too-short', 'QUIRE_INTERNAL_SECRET must be at least 32 characters (shared with the gateway)'],
    ['INGESTION_QUEUE', 'acme:ingestion', 'INGESTION_QUEUE must be a BullMQ queue name: not empty, no ":" and no spaces'],
    ['INGESTION_PORT', 'eighty-eighty-one', 'INGESTION_PORT: Invalid input: expected number, received NaN'],
  ])('refuses %s=%j, naming it once', (name, value, message) => {
    const error = refusal(() => readIngestionEnv({ [name]: value }));
    expect(error.code).toBe('ingestion_config_invalid');
    expect(error.issues).toEqual([message]);
    expect(error.message).toBe(`Invalid ingestion configuration: ${message}`);
  });

  test('names every bad setting at once, its own and the limits', () => {
    const error = refusal(() => readIngestionEnv({ REDIS_URL: 'redis', QUIRE_INGEST_MAX_PAGES: 'many' }));
    expect(error.issues).toEqual(['REDIS_URL must be a URL such as redis://127.0.0.1:6379/0', 'QUIRE_INGEST_MAX_PAGES must be a positive integer (got "many")']);
  });
});

describe('readStandaloneIngestionEnv (main.ts)', () => {
  test('needs DATABASE_URL and QUIRE_INTERNAL_SECRET, and says what each is', () => {
    expect(refusal(() => readStandaloneIngestionEnv({})).issues).toEqual([
      'DATABASE_URL is required (PostgreSQL with pgvector, shared with the other services)',
      'QUIRE_INTERNAL_SECRET is required (at least 32 characters, shared with the gateway)',
    ]);
    expect(refusal(() => readStandaloneIngestionEnv({ ...STANDALONE, DATABASE_URL: '' })).issues).toEqual(['DATABASE_URL is required (PostgreSQL with pgvector, shared with the other services)']);
    expect(refusal(() => readStandaloneIngestionEnv({ ...STANDALONE, DATABASE_URL: 'quire database please' })).issues).toEqual([
      'DATABASE_URL must be a URL such as postgres://user:password@host:5432/quire',
    ]);
    expect(refusal(() => readStandaloneIngestionEnv({ ...STANDALONE, QUIRE_INTERNAL_SECRET: 'short' })).issues).toEqual([
      'QUIRE_INTERNAL_SECRET must be at least 32 characters (shared with the gateway)',
    ]);
  });

  test('with them, reads the same settings as both modes do', () => {
    const env = readStandaloneIngestionEnv({ ...STANDALONE, REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(env).toEqual({ ...readIngestionEnv({ ...STANDALONE, REDIS_URL: 'redis://127.0.0.1:6379' }) });
    expect(env.DATABASE_URL).toBe(STANDALONE.DATABASE_URL);
    expect(env.QUIRE_GATEWAY_URL).toBe('http://127.0.0.1:8080');
  });
});

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
      expect(refusal(() => readIngestionEnv({ QUIRE_REDIS_PREFIX: value }))).toMatchObject({ code: 'ingestion_config_invalid', variables: ['QUIRE_REDIS_PREFIX'] });
    }
  });
});

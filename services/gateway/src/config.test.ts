import { thrownBy } from '@quire/fakes';
import { ConfigError, listenOptionsOf } from '@quire/server-kit';
import { governanceRedisOf, imageTokensOf, readGatewayEnv, readStandaloneGatewayEnv } from './config.js';

/** What a reader threw, for its fields (code, variables, issues). */
const refusal = (read: () => unknown): ConfigError => thrownBy(read, ConfigError.is);

describe('QUIRE_BUDGETS_ALLOW_UNPRICED', () => {
  test('is off unless set to true, and refuses anything but true or false', () => {
    expect(readGatewayEnv({}).QUIRE_BUDGETS_ALLOW_UNPRICED).toBe(false);
    expect(readGatewayEnv({ QUIRE_BUDGETS_ALLOW_UNPRICED: 'true' }).QUIRE_BUDGETS_ALLOW_UNPRICED).toBe(true);
    expect(readGatewayEnv({ QUIRE_BUDGETS_ALLOW_UNPRICED: 'false' }).QUIRE_BUDGETS_ALLOW_UNPRICED).toBe(false);
    expect(() => readGatewayEnv({ QUIRE_BUDGETS_ALLOW_UNPRICED: 'yes' })).toThrow(ConfigError);
    expect(() => readGatewayEnv({ QUIRE_BUDGETS_ALLOW_UNPRICED: 'yes' })).toThrow('QUIRE_BUDGETS_ALLOW_UNPRICED must be "true" or "false"');
  });
});

describe('QUIRE_BUDGET_IMAGE_TOKENS_LOW and _HIGH', () => {
  test("default to OpenAI's dearest image costs (gpt-4o-mini), and may be lowered or raised; a low above the high stops the start", () => {
    expect(imageTokensOf(readGatewayEnv({}))).toEqual({ low: 2833, high: 48_169 });
    expect(imageTokensOf(readGatewayEnv({ QUIRE_BUDGET_IMAGE_TOKENS_LOW: '85', QUIRE_BUDGET_IMAGE_TOKENS_HIGH: '1445' }))).toEqual({ low: 85, high: 1445 });
    // Only the high lowered: the low follows it down.
    expect(imageTokensOf(readGatewayEnv({ QUIRE_BUDGET_IMAGE_TOKENS_HIGH: '1445' }))).toEqual({ low: 1445, high: 1445 });
    expect(imageTokensOf(readGatewayEnv({ QUIRE_BUDGET_IMAGE_TOKENS_LOW: '5000' }))).toEqual({ low: 5000, high: 48_169 });
    for (const value of ['0', '-1', '2.5', 'many']) expect(() => readGatewayEnv({ QUIRE_BUDGET_IMAGE_TOKENS_HIGH: value })).toThrow(ConfigError);
    const error = refusal(() => imageTokensOf(readGatewayEnv({ QUIRE_BUDGET_IMAGE_TOKENS_LOW: '5000', QUIRE_BUDGET_IMAGE_TOKENS_HIGH: '1445' })));
    expect(error.variables).toEqual(['QUIRE_BUDGET_IMAGE_TOKENS_LOW', 'QUIRE_BUDGET_IMAGE_TOKENS_HIGH']);
    expect(error.message).toContain('must not exceed');
  });
});

describe('QUIRE_SSE_STALL_MS', () => {
  test('is read into the gateway listen() options (default 60 s), and a value out of range stops the start, naming it', () => {
    expect(listenOptionsOf(readGatewayEnv({})).sseStallMs).toBe(60_000);
    const env = readGatewayEnv({ QUIRE_SSE_STALL_MS: '15000', QUIRE_SHUTDOWN_DRAIN_MS: '2000' });
    expect(env.QUIRE_SSE_STALL_MS).toBe(15_000);
    // What main.ts (and the embedded start) hands to listen().
    expect(listenOptionsOf(env)).toEqual({ drainMs: 2000, sseStallMs: 15_000 });
    for (const value of ['0', '500', '7200000', '2.5', 'a minute']) {
      expect(() => readGatewayEnv({ QUIRE_SSE_STALL_MS: value })).toThrow(ConfigError);
      expect(() => readGatewayEnv({ QUIRE_SSE_STALL_MS: value })).toThrow('Invalid gateway configuration: QUIRE_SSE_STALL_MS must be a whole number of milliseconds from 1000 (1 s) to 3600000 (1 h)');
    }
  });
});

describe('QUIRE_DATA_DIR, QUIRE_ROUTES_FILE and REDIS_URL', () => {
  test('are read by the schema, so that main.ts and the embedded start use the validated values', () => {
    expect(readGatewayEnv({})).not.toHaveProperty('QUIRE_DATA_DIR');
    const env = readGatewayEnv({ QUIRE_DATA_DIR: '/var/lib/quire', QUIRE_ROUTES_FILE: '/etc/quire/routes.yaml', REDIS_URL: 'redis://redis:6379/0' });
    expect(env).toMatchObject({ QUIRE_DATA_DIR: '/var/lib/quire', QUIRE_ROUTES_FILE: '/etc/quire/routes.yaml', REDIS_URL: 'redis://redis:6379/0' });
  });

  test('a REDIS_URL that is no URL is refused, naming it once', () => {
    for (const value of ['127.0.0.1:6379', 'redis', '']) {
      expect(() => readGatewayEnv({ REDIS_URL: value })).toThrow(new ConfigError('gateway', ['REDIS_URL must be a URL such as redis://127.0.0.1:6379/0']));
    }
  });
});

describe('readStandaloneGatewayEnv', () => {
  const standalone = {
    DATABASE_URL: 'postgres://quire:pw@postgres:5432/quire', QUIRE_INTERNAL_SECRET: 'gateway-config-test-secret-0123456789',
    QUIRE_INGESTION_URL: 'http://ingestion:8081', QUIRE_RETRIEVAL_URL: 'http://retrieval:8082',
  };

  test('needs the database, the shared secret and the services, naming what is missing', () => {
    expect(refusal(() => readStandaloneGatewayEnv({}))).toMatchObject({
      code: 'gateway_config_invalid', variables: ['DATABASE_URL', 'QUIRE_INTERNAL_SECRET', 'QUIRE_INGESTION_URL', 'QUIRE_RETRIEVAL_URL'],
    });
    expect(() => readStandaloneGatewayEnv({})).toThrow(
      'Invalid gateway configuration: the standalone gateway needs DATABASE_URL, QUIRE_INTERNAL_SECRET, QUIRE_INGESTION_URL, QUIRE_RETRIEVAL_URL (use `pnpm start` for the embedded mode)',
    );
    expect(() => readStandaloneGatewayEnv({ ...standalone, QUIRE_RETRIEVAL_URL: undefined })).toThrow('the standalone gateway needs QUIRE_RETRIEVAL_URL (');
    expect(readStandaloneGatewayEnv(standalone)).toEqual(readGatewayEnv(standalone));
  });

  test('a bad value is refused before what is missing is looked at', () => {
    expect(() => readStandaloneGatewayEnv({ QUIRE_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => readStandaloneGatewayEnv({ QUIRE_PORT: 'eighty' })).toThrow('QUIRE_PORT: ');
  });
});

describe('QUIRE_REDIS_PREFIX', () => {
  test('unset or blank, the governance counters keep the keys of earlier versions (quire:gov:)', () => {
    for (const env of [{}, { QUIRE_REDIS_PREFIX: '' }, { QUIRE_REDIS_PREFIX: '  ' }]) {
      const read = readGatewayEnv({ REDIS_URL: 'redis://redis:6379/0', ...env });
      expect(read.QUIRE_REDIS_PREFIX).toBeUndefined();
      expect(governanceRedisOf(read)).toEqual({ redisUrl: 'redis://redis:6379/0', redisPrefix: 'quire:gov:' });
    }
  });

  test("set, the deployment's counters sit under it; without REDIS_URL they stay in memory", () => {
    const read = readGatewayEnv({ REDIS_URL: 'redis://redis:6379/0', QUIRE_REDIS_PREFIX: 'acme-prod' });
    expect(governanceRedisOf(read)).toEqual({ redisUrl: 'redis://redis:6379/0', redisPrefix: 'acme-prod:quire:gov:' });
    expect(governanceRedisOf(readGatewayEnv({ QUIRE_REDIS_PREFIX: 'acme-prod' }))).toEqual({});
  });

  test('a prefix with a separator, a space, a hash tag or over 64 characters is refused, naming it', () => {
    for (const value of ['acme:prod', 'acme prod', '{acme}', '-acme', 'a'.repeat(65)]) {
      const error = refusal(() => readGatewayEnv({ QUIRE_REDIS_PREFIX: value }));
      expect(error).toMatchObject({ code: 'gateway_config_invalid', variables: ['QUIRE_REDIS_PREFIX'] });
      expect(error.issues).toEqual([expect.stringMatching(/^QUIRE_REDIS_PREFIX must be 1 to 64 letters, digits/)]);
    }
  });
});

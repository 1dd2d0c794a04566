import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { redisKeyPrefix, redisPrefixSchema } from './service-env.js';

const Schema = z
  .object({
    QUIRE_PORT: z.coerce.number().int(),
    QUIRE_MAX_MB: z.string().regex(/^\d+$/, 'QUIRE_MAX_MB must be a whole number of megabytes').optional(),
    QUIRE_TOTAL_MB: z.string().optional(),
  })
  .superRefine((env, ctx) => {
    if (Number(env.QUIRE_TOTAL_MB) < Number(env.QUIRE_MAX_MB)) ctx.addIssue({ code: 'custom', message: 'QUIRE_TOTAL_MB must be at least QUIRE_MAX_MB' });
  });

describe('ConfigError', () => {
  test("carries the service's stable code, one sentence per problem naming its variable, and the variables", () => {
    const parsed = Schema.safeParse({ QUIRE_PORT: 'eighty', QUIRE_MAX_MB: '1.5' });
    const error = ConfigError.fromIssues('retrieval', parsed.error!.issues);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('retrieval_config_invalid');
    expect(error.service).toBe('retrieval');
    expect(error.variables).toEqual(['QUIRE_PORT', 'QUIRE_MAX_MB']);
    expect(error.issues).toEqual([expect.stringMatching(/^QUIRE_PORT: /), 'QUIRE_MAX_MB must be a whole number of megabytes']);
    expect(error.message).toBe(`Invalid retrieval configuration: ${error.issues.join('; ')}`);
  });

  test('a check across variables names each variable its sentence mentions', () => {
    const parsed = Schema.safeParse({ QUIRE_PORT: '80', QUIRE_MAX_MB: '10', QUIRE_TOTAL_MB: '5' });
    const error = ConfigError.fromIssues('ingestion', parsed.error!.issues);
    expect(error).toMatchObject({ code: 'ingestion_config_invalid', issues: ['QUIRE_TOTAL_MB must be at least QUIRE_MAX_MB'], variables: ['QUIRE_TOTAL_MB', 'QUIRE_MAX_MB'] });
  });

  test('is() knows one by its brand, not by its name or code', () => {
    expect(ConfigError.is(new ConfigError('gateway', ['QUIRE_X is wrong'], ['QUIRE_X']))).toBe(true);
    expect(ConfigError.is(Object.assign(new Error('Invalid gateway configuration'), { code: 'gateway_config_invalid' }))).toBe(false);
    expect(ConfigError.is(null)).toBe(false);
  });
});

describe('QUIRE_REDIS_PREFIX', () => {
  test('unset or blank is no namespace: the key prefix is left as it always was', () => {
    for (const value of [undefined, '', '   ']) {
      const namespace = redisPrefixSchema.parse(value);
      expect(namespace).toBeUndefined();
      expect(redisKeyPrefix(namespace, 'quire:gov:')).toBe('quire:gov:');
    }
  });

  test("a namespace goes in front of every prefix, separated by ':'", () => {
    expect(redisKeyPrefix(redisPrefixSchema.parse(' acme-prod.eu_1 '), 'quire:gov:')).toBe('acme-prod.eu_1:quire:gov:');
  });

  test('refuses separators, spaces, hash tags and long names', () => {
    for (const value of ['acme:prod', 'acme prod', '{acme}', 'ac{me', '.acme', 'a'.repeat(65)]) expect(redisPrefixSchema.safeParse(value).success).toBe(false);
    expect(redisPrefixSchema.safeParse('a'.repeat(64)).success).toBe(true);
  });
});

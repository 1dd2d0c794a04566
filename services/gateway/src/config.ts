import { z } from 'zod';
import { ConfigError, drainMsSchema, portSchema, redisPrefixSchema, redisUrlSchema, sseStallMsSchema } from '@quire/server-kit';
import { DEFAULT_IMAGE_TOKENS, type ImageTokens } from './governance/cost-estimate.js';
import { governanceKeyPrefix } from './governance/counters.js';

const EnvSchema = z.object({
  QUIRE_PORT: portSchema(8080),
  QUIRE_HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().url().optional(),
  QUIRE_INTERNAL_SECRET: z.string().min(32, 'QUIRE_INTERNAL_SECRET must be at least 32 characters').optional(),
  QUIRE_INGESTION_URL: z.string().url().optional(),
  QUIRE_RETRIEVAL_URL: z.string().url().optional(),
  /** JSON object of price overrides, keyed by `provider/model` (see @quire/models ModelPrice). */
  QUIRE_PRICING_JSON: z.string().optional(),
  /** Comma-separated model names to list in /v1/models beyond the priced ones. */
  QUIRE_MODELS: z.string().optional(),
  /** YAML or JSON file of routes (named virtual models with fallback); the admin API overrides it. */
  QUIRE_ROUTES_FILE: z.string().optional(),
  /** Budgets and rate limits in Redis, shared by every gateway replica (in this process's memory without it). */
  REDIS_URL: redisUrlSchema,
  /**
   * This deployment's namespace in a Redis database shared with other deployments: budget, rate-limit
   * and alert counters go under `<prefix>:quire:gov:` instead of `quire:gov:` (unset: the keys of earlier versions).
   */
  QUIRE_REDIS_PREFIX: redisPrefixSchema,
  /**
   * The data folder: the ledger's write-ahead journal (`ledger-journal`), and in the embedded mode PGlite's
   * `pgdata` (`pnpm start` defaults it to `./.quire`). A standalone gateway without it journals nothing.
   */
  QUIRE_DATA_DIR: z.string().optional(),
  /** The bootstrap admin key installed on a first start with no keys (without it a new one is printed once). */
  QUIRE_ADMIN_KEY: z.string().optional(),
  /**
   * Output tokens a chat call without max_tokens reserves against budgets, and is capped at when a
   * budget applies (default 4096). Reasoning models count their thinking in it: raise it for them.
   */
  QUIRE_BUDGET_DEFAULT_MAX_OUTPUT_TOKENS: z.coerce.number().int().min(1).max(1_000_000).optional(),
  /**
   * Input tokens each image of a chat or responses call reserves against budgets (and counts toward
   * tpm until settled), by its `detail`: `low`, and `high`/`auto`/none. Defaults cover OpenAI's
   * dearest published image costs (gpt-4o-mini: 2833 and 48169, DEFAULT_IMAGE_TOKENS); settlement
   * then charges what the provider reported. Unset HIGH keeps 48169; unset LOW is 2833, or HIGH if lower.
   */
  QUIRE_BUDGET_IMAGE_TOKENS_LOW: z.coerce.number().int().min(1).max(10_000_000).optional(),
  QUIRE_BUDGET_IMAGE_TOKENS_HIGH: z.coerce.number().int().min(1).max(10_000_000).optional(),
  /**
   * `true`: callers under a budget may call models without a price, which then count nothing against
   * it (deployments whose unpriced models are self-hosted and cost nothing). Default `false`: such a
   * call is refused with 403 `model_unpriced`. Only `true` and `false`: a typo must not open budgets.
   */
  QUIRE_BUDGETS_ALLOW_UNPRICED: z
    .enum(['true', 'false'], { error: 'QUIRE_BUDGETS_ALLOW_UNPRICED must be "true" or "false"' })
    .default('false')
    .transform((v) => v === 'true'),
  /** How long a stopping gateway lets requests in progress finish before it cuts them off (default 8 s, under docker-compose's 10 s). */
  QUIRE_SHUTDOWN_DRAIN_MS: drainMsSchema,
  /** How long a model stream may wait on a client that reads nothing before it is cut off (default 60 s; passed to listen()). */
  QUIRE_SSE_STALL_MS: sseStallMsSchema,
});
export type GatewayEnv = z.infer<typeof EnvSchema>;

/** The image worst cases budgets reserve (QUIRE_BUDGET_IMAGE_TOKENS_LOW / _HIGH over DEFAULT_IMAGE_TOKENS); a low above high stops the start. */
export function imageTokensOf(env: Pick<GatewayEnv, 'QUIRE_BUDGET_IMAGE_TOKENS_LOW' | 'QUIRE_BUDGET_IMAGE_TOKENS_HIGH'>): ImageTokens {
  const high = env.QUIRE_BUDGET_IMAGE_TOKENS_HIGH ?? DEFAULT_IMAGE_TOKENS.high;
  const low = env.QUIRE_BUDGET_IMAGE_TOKENS_LOW ?? Math.min(DEFAULT_IMAGE_TOKENS.low, high);
  if (low > high) {
    throw new ConfigError(
      'gateway',
      [`QUIRE_BUDGET_IMAGE_TOKENS_LOW (${low}) must not exceed QUIRE_BUDGET_IMAGE_TOKENS_HIGH (${high}): a low-detail image never costs more than a high-detail one`],
      ['QUIRE_BUDGET_IMAGE_TOKENS_LOW', 'QUIRE_BUDGET_IMAGE_TOKENS_HIGH'],
    );
  }
  return { low, high };
}

/** The settings both modes read (`pnpm start` and the standalone gateway); throws ConfigError (`gateway_config_invalid`). */
export function readGatewayEnv(env: NodeJS.ProcessEnv = process.env): GatewayEnv {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw ConfigError.fromIssues('gateway', parsed.error.issues);
  return parsed.data;
}

/** Where budgets and rate limits are counted: Redis at REDIS_URL under QUIRE_REDIS_PREFIX's namespace, or (nothing) this process's memory. */
export function governanceRedisOf(env: Pick<GatewayEnv, 'REDIS_URL' | 'QUIRE_REDIS_PREFIX'>): { redisUrl?: string; redisPrefix?: string } {
  return env.REDIS_URL ? { redisUrl: env.REDIS_URL, redisPrefix: governanceKeyPrefix(env.QUIRE_REDIS_PREFIX) } : {};
}

export type StandaloneGatewayEnv = GatewayEnv & { DATABASE_URL: string; QUIRE_INTERNAL_SECRET: string; QUIRE_INGESTION_URL: string; QUIRE_RETRIEVAL_URL: string };

/** The settings of the gateway on its own (main.ts): the database, the shared secret and the services' URLs are required. */
export function readStandaloneGatewayEnv(env: NodeJS.ProcessEnv = process.env): StandaloneGatewayEnv {
  const read = readGatewayEnv(env);
  const missing = (['DATABASE_URL', 'QUIRE_INTERNAL_SECRET', 'QUIRE_INGESTION_URL', 'QUIRE_RETRIEVAL_URL'] as const).filter((name) => !read[name]);
  if (missing.length > 0) {
    throw new ConfigError('gateway', [`the standalone gateway needs ${missing.join(', ')} (use \`pnpm start\` for the embedded mode)`], missing);
  }
  return read as StandaloneGatewayEnv;
}

const Decimal = z.string().regex(/^\d+(\.\d+)?$/, 'must be a decimal string such as "0.15"');
const PriceOverrideSchema = z.object({
  input: Decimal,
  cachedInput: Decimal.optional(),
  cacheWrite: Decimal.optional(),
  output: Decimal,
  searchUnit: Decimal.optional(),
  asOf: z.string().default('override'),
  source: z.string().default('deployment override'),
});
export const PricingOverridesSchema = z.record(z.string().regex(/^[^/]+\/.+$/, 'keys are "provider/model"'), PriceOverrideSchema);
export type PricingOverrides = z.infer<typeof PricingOverridesSchema>;

/** Price overrides per deployment, as JSON (prices in USD per million tokens, as decimal strings). */
export function parsePricingOverrides(json: string | undefined): PricingOverrides {
  if (!json) return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ConfigError('gateway', [`QUIRE_PRICING_JSON is not valid JSON: ${(error as Error).message}`], ['QUIRE_PRICING_JSON']);
  }
  const parsed = PricingOverridesSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError('gateway', [`QUIRE_PRICING_JSON is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`], ['QUIRE_PRICING_JSON']);
  return parsed.data;
}

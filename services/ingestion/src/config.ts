/**
 * The ingestion service's settings from the environment, read by services/ingestion/src/main.ts
 * (`readStandaloneIngestionEnv`) and by the all-in-one scripts/start-quire.ts (`readIngestionEnv`),
 * so that both modes accept and refuse the same values. The limits (`QUIRE_INGEST_*`) are in
 * limits-env.ts and come back as `limits`.
 */
import { z } from 'zod';
import {
  ConfigError, databaseUrlSchema, drainMsSchema, gatewayUrlSchema, internalSecretSchema, portSchema, queueNameSchema, redisPrefixSchema,
  redisUrlSchema, requiredDatabaseUrlSchema, requiredInternalSecretSchema, sseStallMsSchema,
} from '@quire/server-kit';
import type { IngestionLimits } from './limits.js';
import { IngestionLimitsEnvSchema } from './limits-env.js';

const EnvSchema = z.object({
  /** PostgreSQL with pgvector; the embedded mode opens PGlite without it, the standalone service needs it. */
  DATABASE_URL: databaseUrlSchema,
  /** Jobs on BullMQ (without it, in process). One Redis database per deployment: redis://host:6379/N. */
  REDIS_URL: redisUrlSchema,
  /** This deployment's namespace in a shared Redis database: the queue's keys and the provider slots go under `<prefix>:`. */
  QUIRE_REDIS_PREFIX: redisPrefixSchema,
  /** Signs and verifies the gateway's identity headers; the embedded mode makes one up without it. */
  QUIRE_INTERNAL_SECRET: internalSecretSchema,
  /** Where model calls go: the gateway, at its default address unless told (docker-compose sets http://gateway:8080). */
  QUIRE_GATEWAY_URL: gatewayUrlSchema,
  INGESTION_PORT: portSchema(8081),
  // Only the gateway is a public door: behind it, a service listens on loopback unless told (docker-compose sets 0.0.0.0).
  INGESTION_HOST: z.string().default('127.0.0.1'),
  // Deployments sharing one Redis database are kept apart by QUIRE_REDIS_PREFIX (or their own queue names; better: one Redis database each).
  INGESTION_QUEUE: queueNameSchema('INGESTION_QUEUE', 'quire-ingestion'),
  /** How long a stopping service lets requests in progress finish before it cuts them off (default 8 s). */
  QUIRE_SHUTDOWN_DRAIN_MS: drainMsSchema,
  /** How long a progress stream may wait on a client that reads nothing before it is cut off (default 60 s). */
  QUIRE_SSE_STALL_MS: sseStallMsSchema,
});

/** What the service alone cannot start without: alone, an embedded database would be an empty one of its own. */
const StandaloneEnvSchema = EnvSchema.extend({
  DATABASE_URL: requiredDatabaseUrlSchema,
  QUIRE_INTERNAL_SECRET: requiredInternalSecretSchema,
});

export type IngestionEnv = z.infer<typeof EnvSchema> & { limits: IngestionLimits };
export type StandaloneIngestionEnv = z.infer<typeof StandaloneEnvSchema> & { limits: IngestionLimits };

function withLimits<T>(parsed: z.ZodSafeParseResult<T>, env: NodeJS.ProcessEnv): T & { limits: IngestionLimits } {
  const limits = IngestionLimitsEnvSchema.safeParse(env);
  if (parsed.success && limits.success) return { ...parsed.data, limits: limits.data };
  // Every bad setting at once, the service's own first, so that one start names all there are to fix.
  throw ConfigError.fromIssues('ingestion', [...(parsed.success ? [] : parsed.error.issues), ...(limits.success ? [] : limits.error.issues)]);
}

/** The settings both modes read (DATABASE_URL and QUIRE_INTERNAL_SECRET optional); throws ConfigError (`ingestion_config_invalid`). */
export function readIngestionEnv(env: NodeJS.ProcessEnv = process.env): IngestionEnv {
  return withLimits(EnvSchema.safeParse(env), env);
}

/** The settings of the service on its own (main.ts): DATABASE_URL and QUIRE_INTERNAL_SECRET are required. */
export function readStandaloneIngestionEnv(env: NodeJS.ProcessEnv = process.env): StandaloneIngestionEnv {
  return withLimits(StandaloneEnvSchema.safeParse(env), env);
}

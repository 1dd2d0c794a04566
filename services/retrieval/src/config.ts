/**
 * The retrieval service's settings from the environment, read by services/retrieval/src/main.ts
 * (`readStandaloneRetrievalEnv`) and by the all-in-one scripts/start-quire.ts (`readRetrievalEnv`),
 * so that both modes accept and refuse the same values.
 */
import { z } from 'zod';
import {
  ConfigError, databaseUrlSchema, drainMsSchema, gatewayUrlSchema, internalSecretSchema, portSchema, queueNameSchema, redisPrefixSchema,
  redisUrlSchema, requiredDatabaseUrlSchema, requiredInternalSecretSchema, sseStallMsSchema,
} from '@quire/server-kit';
import { answerLinkHostsSchema } from './answer/link-hosts-env.js';
import { queryRetentionDaysSchema } from './queries/query-retention.js';

const EnvSchema = z.object({
  /** PostgreSQL with pgvector; the embedded mode opens PGlite without it, the standalone service needs it. */
  DATABASE_URL: databaseUrlSchema,
  /** Signs and verifies the gateway's identity headers; the embedded mode makes one up without it. */
  QUIRE_INTERNAL_SECRET: internalSecretSchema,
  /** Where model calls go: the gateway, at its default address unless told (docker-compose sets http://gateway:8080). */
  QUIRE_GATEWAY_URL: gatewayUrlSchema,
  /** Benchmark runs as BullMQ jobs shared by every retrieval process (without it, in process). One Redis database per deployment. */
  REDIS_URL: redisUrlSchema,
  /** This deployment's namespace in a shared Redis database: the benchmark queue's keys go under `<prefix>:bull:`. */
  QUIRE_REDIS_PREFIX: redisPrefixSchema,
  // Deployments sharing one Redis database are kept apart by QUIRE_REDIS_PREFIX (or their own queue names; better: one Redis database each).
  RETRIEVAL_BENCHMARK_QUEUE: queueNameSchema('RETRIEVAL_BENCHMARK_QUEUE', 'quire-benchmarks'),
  RETRIEVAL_PORT: portSchema(8082),
  // Only the gateway is a public door: behind it, a service listens on loopback unless told (docker-compose sets 0.0.0.0).
  RETRIEVAL_HOST: z.string().default('127.0.0.1'),
  /** How long a stopping service lets requests in progress finish before it cuts them off (default 8 s). */
  QUIRE_SHUTDOWN_DRAIN_MS: drainMsSchema,
  /** How long an answer stream may wait on a client that reads nothing before it is cut off (default 60 s). */
  QUIRE_SSE_STALL_MS: sseStallMsSchema,
  QUIRE_ANSWER_LINK_HOSTS: answerLinkHostsSchema,
  QUIRE_QUERY_RETENTION_DAYS: queryRetentionDaysSchema,
});

/** What the service alone cannot start without: alone, an embedded database would be an empty one of its own. */
const StandaloneEnvSchema = EnvSchema.extend({
  DATABASE_URL: requiredDatabaseUrlSchema,
  QUIRE_INTERNAL_SECRET: requiredInternalSecretSchema,
});

export type RetrievalEnv = z.infer<typeof EnvSchema>;
export type StandaloneRetrievalEnv = z.infer<typeof StandaloneEnvSchema>;

function valid<T>(parsed: z.ZodSafeParseResult<T>): T {
  if (!parsed.success) throw ConfigError.fromIssues('retrieval', parsed.error.issues);
  return parsed.data;
}

/** The settings both modes read (DATABASE_URL and QUIRE_INTERNAL_SECRET optional); throws ConfigError (`retrieval_config_invalid`). */
export function readRetrievalEnv(env: NodeJS.ProcessEnv = process.env): RetrievalEnv {
  return valid(EnvSchema.safeParse(env));
}

/** The settings of the service on its own (main.ts): DATABASE_URL and QUIRE_INTERNAL_SECRET are required. */
export function readStandaloneRetrievalEnv(env: NodeJS.ProcessEnv = process.env): StandaloneRetrievalEnv {
  return valid(StandaloneEnvSchema.safeParse(env));
}

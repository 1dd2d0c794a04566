/**
 * The retrieval service's settings from the environment, read by services/retrieval/src/main.ts
 * (`readStandaloneRetrievalEnv`) and by the all-in-one scripts/start-quire.ts (`readRetrievalEnv`),
 * so that both modes accept and refuse the same values.
 */
import { z } from 'zod';
import { drainMsSchema, sseStallMsSchema } from '@quire/server-kit';
import { answerLinkHostsSchema } from './answer/link-hosts-env.js';
import { queryRetentionDaysSchema } from './queries/query-retention.js';

const DATABASE_URL_REQUIRED = 'DATABASE_URL is required (PostgreSQL with pgvector, shared with the other services)';
const DATABASE_URL_FORMAT = 'DATABASE_URL must be a URL such as postgres://user:password@host:5432/quire';
const INTERNAL_SECRET_REQUIRED = 'QUIRE_INTERNAL_SECRET is required (at least 32 characters, shared with the gateway)';
const INTERNAL_SECRET_LENGTH = 'QUIRE_INTERNAL_SECRET must be at least 32 characters (shared with the gateway)';

const EnvSchema = z.object({
  /** PostgreSQL with pgvector; the embedded mode opens PGlite without it, the standalone service needs it. */
  DATABASE_URL: z.string().url(DATABASE_URL_FORMAT).optional(),
  /** Signs and verifies the gateway's identity headers; the embedded mode makes one up without it. */
  QUIRE_INTERNAL_SECRET: z.string().min(32, INTERNAL_SECRET_LENGTH).optional(),
  /** Where model calls go: the gateway, at its default address unless told (docker-compose sets http://gateway:8080). */
  QUIRE_GATEWAY_URL: z.string().url('QUIRE_GATEWAY_URL must be a URL such as http://gateway:8080').default('http://127.0.0.1:8080'),
  /** Benchmark runs as BullMQ jobs shared by every retrieval process (without it, in process). One Redis database per deployment. */
  REDIS_URL: z.string().url('REDIS_URL must be a URL such as redis://127.0.0.1:6379/0').optional(),
  // Deployments sharing one Redis database need their own queue names (better: one Redis database each, redis://host:6379/N).
  RETRIEVAL_BENCHMARK_QUEUE: z
    .string()
    .regex(/^[^:\s]+$/, 'RETRIEVAL_BENCHMARK_QUEUE must be a BullMQ queue name: not empty, no ":" and no spaces')
    .default('quire-benchmarks'),
  RETRIEVAL_PORT: z.coerce.number().int().min(0).max(65535).default(8082),
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
  DATABASE_URL: z.string({ error: DATABASE_URL_REQUIRED }).min(1, { error: DATABASE_URL_REQUIRED, abort: true }).url(DATABASE_URL_FORMAT),
  QUIRE_INTERNAL_SECRET: z.string({ error: INTERNAL_SECRET_REQUIRED }).min(32, INTERNAL_SECRET_LENGTH),
});

export type RetrievalEnv = z.infer<typeof EnvSchema>;
export type StandaloneRetrievalEnv = z.infer<typeof StandaloneEnvSchema>;

/** A setting retrieval cannot start with; `issues` holds one sentence per bad variable, naming it (mains exit 2 on it). */
export class RetrievalConfigError extends Error {
  override name = 'RetrievalConfigError';
  readonly code = 'retrieval_config_invalid' as const;
  constructor(readonly issues: string[]) {
    super(`Invalid retrieval configuration: ${issues.join('; ')}`);
  }
}

/** One sentence per bad variable, naming it once (`NAME: problem`, or the message alone where it names it). */
function describeIssue(issue: z.ZodError['issues'][number]): string {
  const name = issue.path.join('.');
  return name && !issue.message.startsWith(name) ? `${name}: ${issue.message}` : issue.message;
}

function valid<T>(parsed: z.ZodSafeParseResult<T>): T {
  if (!parsed.success) throw new RetrievalConfigError(parsed.error.issues.map(describeIssue));
  return parsed.data;
}

/** The settings both modes read (DATABASE_URL and QUIRE_INTERNAL_SECRET optional); throws RetrievalConfigError. */
export function readRetrievalEnv(env: NodeJS.ProcessEnv = process.env): RetrievalEnv {
  return valid(EnvSchema.safeParse(env));
}

/** The settings of the service on its own (main.ts): DATABASE_URL and QUIRE_INTERNAL_SECRET are required. */
export function readStandaloneRetrievalEnv(env: NodeJS.ProcessEnv = process.env): StandaloneRetrievalEnv {
  return valid(StandaloneEnvSchema.safeParse(env));
}

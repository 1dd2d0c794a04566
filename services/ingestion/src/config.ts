/**
 * The ingestion service's settings from the environment, read by services/ingestion/src/main.ts
 * (`readStandaloneIngestionEnv`) and by the all-in-one scripts/start-quire.ts (`readIngestionEnv`),
 * so that both modes accept and refuse the same values. The limits (`QUIRE_INGEST_*`) are in
 * limits-env.ts and come back as `limits`.
 */
import { z } from 'zod';
import { drainMsSchema, sseStallMsSchema } from '@quire/server-kit';
import type { IngestionLimits } from './limits.js';
import { IngestionConfigError, IngestionLimitsEnvSchema } from './limits-env.js';

const DATABASE_URL_REQUIRED = 'DATABASE_URL is required (PostgreSQL with pgvector, shared with the other services)';
const DATABASE_URL_FORMAT = 'DATABASE_URL must be a URL such as postgres://user:password@host:5432/quire';
const INTERNAL_SECRET_REQUIRED = 'QUIRE_INTERNAL_SECRET is required (at least 32 characters, shared with the gateway)';
const INTERNAL_SECRET_LENGTH = 'QUIRE_INTERNAL_SECRET must be at least 32 characters (shared with the gateway)';

const EnvSchema = z.object({
  /** PostgreSQL with pgvector; the embedded mode opens PGlite without it, the standalone service needs it. */
  DATABASE_URL: z.string().url(DATABASE_URL_FORMAT).optional(),
  /** Jobs on BullMQ (without it, in process). One Redis database per deployment: redis://host:6379/N. */
  REDIS_URL: z.string().url('REDIS_URL must be a URL such as redis://127.0.0.1:6379/0').optional(),
  /** Signs and verifies the gateway's identity headers; the embedded mode makes one up without it. */
  QUIRE_INTERNAL_SECRET: z.string().min(32, INTERNAL_SECRET_LENGTH).optional(),
  /** Where model calls go: the gateway, at its default address unless told (docker-compose sets http://gateway:8080). */
  QUIRE_GATEWAY_URL: z.string().url('QUIRE_GATEWAY_URL must be a URL such as http://gateway:8080').default('http://127.0.0.1:8080'),
  INGESTION_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  // Only the gateway is a public door: behind it, a service listens on loopback unless told (docker-compose sets 0.0.0.0).
  INGESTION_HOST: z.string().default('127.0.0.1'),
  // Deployments sharing one Redis database need their own queue names (better: one Redis database each, redis://host:6379/N).
  INGESTION_QUEUE: z
    .string()
    .regex(/^[^:\s]+$/, 'INGESTION_QUEUE must be a BullMQ queue name: not empty, no ":" and no spaces')
    .default('quire-ingestion'),
  /** How long a stopping service lets requests in progress finish before it cuts them off (default 8 s). */
  QUIRE_SHUTDOWN_DRAIN_MS: drainMsSchema,
  /** How long a progress stream may wait on a client that reads nothing before it is cut off (default 60 s). */
  QUIRE_SSE_STALL_MS: sseStallMsSchema,
});

/** What the service alone cannot start without: alone, an embedded database would be an empty one of its own. */
const StandaloneEnvSchema = EnvSchema.extend({
  DATABASE_URL: z.string({ error: DATABASE_URL_REQUIRED }).min(1, { error: DATABASE_URL_REQUIRED, abort: true }).url(DATABASE_URL_FORMAT),
  QUIRE_INTERNAL_SECRET: z.string({ error: INTERNAL_SECRET_REQUIRED }).min(32, INTERNAL_SECRET_LENGTH),
});

export type IngestionEnv = z.infer<typeof EnvSchema> & { limits: IngestionLimits };
export type StandaloneIngestionEnv = z.infer<typeof StandaloneEnvSchema> & { limits: IngestionLimits };

/** One sentence per bad variable, naming it once (`NAME: problem`, or the message alone where it names it). */
function describeIssue(issue: z.ZodError['issues'][number]): string {
  const name = issue.path.join('.');
  return name && !issue.message.startsWith(name) ? `${name}: ${issue.message}` : issue.message;
}

function withLimits<T>(parsed: z.ZodSafeParseResult<T>, env: NodeJS.ProcessEnv): T & { limits: IngestionLimits } {
  const limits = IngestionLimitsEnvSchema.safeParse(env);
  if (parsed.success && limits.success) return { ...parsed.data, limits: limits.data };
  // Every bad setting at once, the service's own first, so that one start names all there are to fix.
  throw new IngestionConfigError([
    ...(parsed.success ? [] : parsed.error.issues.map(describeIssue)),
    ...(limits.success ? [] : limits.error.issues.map((issue) => issue.message)),
  ]);
}

/** The settings both modes read (DATABASE_URL and QUIRE_INTERNAL_SECRET optional); throws IngestionConfigError. */
export function readIngestionEnv(env: NodeJS.ProcessEnv = process.env): IngestionEnv {
  return withLimits(EnvSchema.safeParse(env), env);
}

/** The settings of the service on its own (main.ts): DATABASE_URL and QUIRE_INTERNAL_SECRET are required. */
export function readStandaloneIngestionEnv(env: NodeJS.ProcessEnv = process.env): StandaloneIngestionEnv {
  return withLimits(StandaloneEnvSchema.safeParse(env), env);
}

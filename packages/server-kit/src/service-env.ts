/**
 * Environment settings every service reads alike, one definition each, so that the gateway, ingestion,
 * retrieval and `pnpm start` (which reads all three) accept and refuse the same values in the same
 * words. Each service's config.ts composes its schema from these and its own settings.
 */
import { z } from 'zod';

const DATABASE_URL_REQUIRED = 'DATABASE_URL is required (PostgreSQL with pgvector, shared with the other services)';
const DATABASE_URL_FORMAT = 'DATABASE_URL must be a URL such as postgres://user:password@host:5432/quire';
const INTERNAL_SECRET_REQUIRED = 'QUIRE_INTERNAL_SECRET is required (at least 32 characters, shared with the gateway)';
const INTERNAL_SECRET_LENGTH = 'QUIRE_INTERNAL_SECRET must be at least 32 characters (shared with the gateway)';

/** PostgreSQL with pgvector; the embedded mode opens PGlite without it. */
export const databaseUrlSchema = z.string().url(DATABASE_URL_FORMAT).optional();
/** A service on its own needs it: alone, an embedded database would be an empty one of its own. */
export const requiredDatabaseUrlSchema = z.string({ error: DATABASE_URL_REQUIRED }).min(1, { error: DATABASE_URL_REQUIRED, abort: true }).url(DATABASE_URL_FORMAT);

/** Signs and verifies the gateway's identity headers; the embedded mode makes one up without it. */
export const internalSecretSchema = z.string().min(32, INTERNAL_SECRET_LENGTH).optional();
export const requiredInternalSecretSchema = z.string({ error: INTERNAL_SECRET_REQUIRED }).min(32, INTERNAL_SECRET_LENGTH);

/** One Redis database per deployment (redis://host:6379/N): queues, budgets and rate limits live there. */
export const redisUrlSchema = z.string().url('REDIS_URL must be a URL such as redis://127.0.0.1:6379/0').optional();

const REDIS_PREFIX_FORMAT =
  'QUIRE_REDIS_PREFIX must be 1 to 64 letters, digits, "-", "_" or ".", starting with a letter or digit (no ":", spaces or braces), such as acme-prod';

/**
 * QUIRE_REDIS_PREFIX: this deployment's namespace in a Redis database it shares with other deployments.
 * Unset or blank (compose files pass `VAR=`), Quire's keys are what they always were (`quire:gov:…`,
 * BullMQ's `bull:<queue>:…`, `quire:sem:<queue>:…`); set to `acme`, the same keys sit under `acme:`
 * (`acme:quire:gov:…`, `acme:bull:<queue>:…`, `acme:quire:sem:<queue>:…`). No `:` (the separator Quire adds)
 * and no braces (a Redis Cluster hash tag would move keys between slots).
 */
export const redisPrefixSchema = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()))
  .pipe(z.string().max(64, REDIS_PREFIX_FORMAT).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, REDIS_PREFIX_FORMAT).optional());

/** A key prefix under a deployment's namespace (QUIRE_REDIS_PREFIX): `prefix` itself without one, `<namespace>:<prefix>` with one. */
export function redisKeyPrefix(namespace: string | undefined, prefix: string): string {
  return namespace ? `${namespace}:${prefix}` : prefix;
}

/** Where the services' model calls go: the gateway, at its own default address unless told (docker-compose sets http://gateway:8080). */
export const gatewayUrlSchema = z.string().url('QUIRE_GATEWAY_URL must be a URL such as http://gateway:8080').default('http://127.0.0.1:8080');

/** A listening port; 0 picks a free one. */
export const portSchema = (defaultPort: number) => z.coerce.number().int().min(0).max(65535).default(defaultPort);

/** A BullMQ queue name: deployments sharing one Redis database need their own, or each its own QUIRE_REDIS_PREFIX (better: a Redis database each). */
export const queueNameSchema = (name: string, defaultName: string) =>
  z.string().regex(/^[^:\s]+$/, `${name} must be a BullMQ queue name: not empty, no ":" and no spaces`).default(defaultName);

/** One sentence per bad variable, naming it once (`NAME: problem`, or the message alone where it names it). */
export function describeEnvIssue(issue: z.ZodError['issues'][number]): string {
  const name = issue.path.join('.');
  return name && !issue.message.startsWith(name) ? `${name}: ${issue.message}` : issue.message;
}

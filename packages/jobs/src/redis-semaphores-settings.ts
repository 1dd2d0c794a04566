import { z } from 'zod';
import { redisPrefixSchema } from '@quire/server-kit';

/** Settings of `createRedisSemaphores`, checked where they enter. */
export const redisSemaphoresSettingsSchema = z
  .object({
    redisUrl: z.string().min(1),
    /** Keys are `quire:sem:<namespace>:<name>`; the ingestion service passes its queue name. */
    namespace: z.string().min(1),
    /**
     * This deployment's namespace in a shared Redis database (QUIRE_REDIS_PREFIX): with one, the keys and
     * the release channel sit under `<redisNamespace>:` (`acme:quire:sem:<namespace>:<name>`). Unset or
     * blank: the keys of earlier versions.
     */
    redisNamespace: redisPrefixSchema,
    /** Slots per name, across every process sharing the namespace. */
    limit: z.number().int().positive(),
    /** A holder that stops renewing (a killed process) loses its slot this long after its last renewal. */
    leaseMs: z.number().int().min(100).default(30_000),
    /** Bounds of the waiting poll's backoff; a release elsewhere wakes waiters at once. */
    pollMinMs: z.number().int().min(1).default(20),
    pollMaxMs: z.number().int().min(1).default(200),
  })
  .refine((s) => s.pollMaxMs >= s.pollMinMs, { message: 'pollMaxMs must be at least pollMinMs', path: ['pollMaxMs'] });

export type RedisSemaphoresSettings = z.input<typeof redisSemaphoresSettingsSchema>;
export type ResolvedRedisSemaphoresSettings = z.output<typeof redisSemaphoresSettingsSchema>;

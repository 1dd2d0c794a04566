/**
 * Ingestion limits from the environment (`QUIRE_INGEST_*`), read by services/ingestion/src/main.ts
 * and by the all-in-one scripts/start-quire.ts, so both modes are tuned the same way.
 */
import { z } from 'zod';
import { ConfigError } from '@quire/server-kit';
import { DEFAULT_LIMITS, streamsPerTeamDefault, uploadMemoryDefault, type IngestionLimits } from './limits.js';

const MB = 1024 * 1024;

/** Set-but-blank counts as unset: compose files often pass `VAR=` through. */
const present = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/** An optional variable: `problem` names what is wrong with a set value, `convert` reads a good one. */
function variable(problem: (value: string) => string | undefined, convert: (value: string) => number) {
  return z
    .string()
    .optional()
    .transform(present)
    .superRefine((value, ctx) => {
      const wrong = value === undefined ? undefined : problem(value);
      if (wrong) ctx.addIssue({ code: 'custom', message: `${wrong} (got "${value}")` });
    })
    .transform((value) => (value === undefined ? undefined : convert(value)));
}

function integer(name: string, min: 0 | 1, max = Number.MAX_SAFE_INTEGER) {
  const kind = min === 1 ? 'a positive integer' : 'a non-negative integer';
  const message = max < Number.MAX_SAFE_INTEGER ? `${name} must be ${kind} no larger than ${max}` : `${name} must be ${kind}`;
  return variable((value) => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    return !Number.isSafeInteger(n) || n < min || n > max ? message : undefined;
  }, Number);
}

/** Sizes are set in megabytes (fractions allowed) and kept in bytes. */
function megabytes(name: string) {
  return variable((value) => {
    const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
    return n > 0 && Number.isFinite(n) ? undefined : `${name} must be a positive number of megabytes`;
  }, (value) => Math.round(Number(value) * MB));
}

/**
 * Each limit, its variable and unit. `allowLoopbackUrls` is left out on purpose: it switches off the
 * SSRF guard for `{url}` ingestion and exists for tests, not for deployments.
 */
export const IngestionLimitsEnvSchema = z
  .object({
    QUIRE_INGEST_MAX_UPLOAD_MB: megabytes('QUIRE_INGEST_MAX_UPLOAD_MB'),
    /** Older name of QUIRE_INGEST_MAX_UPLOAD_MB, still read. */
    INGESTION_MAX_UPLOAD_MB: megabytes('INGESTION_MAX_UPLOAD_MB'),
    QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB: megabytes('QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB'),
    QUIRE_INGEST_MAX_FILES_PER_UPLOAD: integer('QUIRE_INGEST_MAX_FILES_PER_UPLOAD', 1),
    QUIRE_INGEST_UPLOAD_MEMORY_MB: megabytes('QUIRE_INGEST_UPLOAD_MEMORY_MB'),
    QUIRE_INGEST_CONCURRENCY: integer('QUIRE_INGEST_CONCURRENCY', 1, 64),
    /** Older name of QUIRE_INGEST_CONCURRENCY, still read. */
    INGESTION_CONCURRENCY: integer('INGESTION_CONCURRENCY', 1, 64),
    QUIRE_INGEST_ATTEMPTS: integer('QUIRE_INGEST_ATTEMPTS', 1),
    QUIRE_INGEST_RETRY_BASE_DELAY_MS: integer('QUIRE_INGEST_RETRY_BASE_DELAY_MS', 0),
    QUIRE_INGEST_EMBED_BATCH_MAX_INPUTS: integer('QUIRE_INGEST_EMBED_BATCH_MAX_INPUTS', 1),
    QUIRE_INGEST_EMBED_BATCH_MAX_TOKENS: integer('QUIRE_INGEST_EMBED_BATCH_MAX_TOKENS', 1),
    QUIRE_INGEST_EMBED_CALL_TIMEOUT_MS: integer('QUIRE_INGEST_EMBED_CALL_TIMEOUT_MS', 1),
    QUIRE_INGEST_EMBED_CONCURRENCY_PER_PROVIDER: integer('QUIRE_INGEST_EMBED_CONCURRENCY_PER_PROVIDER', 1),
    QUIRE_INGEST_RECONCILE_INTERVAL_MS: integer('QUIRE_INGEST_RECONCILE_INTERVAL_MS', 1),
    QUIRE_INGEST_STALE_AFTER_MS: integer('QUIRE_INGEST_STALE_AFTER_MS', 1),
    QUIRE_INGEST_DEAD_AFTER_MS: integer('QUIRE_INGEST_DEAD_AFTER_MS', 1),
    QUIRE_INGEST_PARSE_WORKERS: integer('QUIRE_INGEST_PARSE_WORKERS', 1, 64),
    QUIRE_INGEST_PARSE_HEAP_MB: integer('QUIRE_INGEST_PARSE_HEAP_MB', 1),
    QUIRE_INGEST_PARSE_TIMEOUT_MS: integer('QUIRE_INGEST_PARSE_TIMEOUT_MS', 1),
    QUIRE_INGEST_CHUNK_TIMEOUT_MS: integer('QUIRE_INGEST_CHUNK_TIMEOUT_MS', 1),
    QUIRE_INGEST_MAX_PAGES: integer('QUIRE_INGEST_MAX_PAGES', 1),
    QUIRE_INGEST_MAX_EXTRACTED_CHARS: integer('QUIRE_INGEST_MAX_EXTRACTED_CHARS', 1),
    QUIRE_INGEST_MAX_CHUNKS: integer('QUIRE_INGEST_MAX_CHUNKS', 1),
    QUIRE_INGEST_MAX_ZIP_ENTRIES: integer('QUIRE_INGEST_MAX_ZIP_ENTRIES', 1),
    QUIRE_INGEST_MAX_UNCOMPRESSED_MB: megabytes('QUIRE_INGEST_MAX_UNCOMPRESSED_MB'),
    QUIRE_INGEST_HNSW_MIN_VECTORS: integer('QUIRE_INGEST_HNSW_MIN_VECTORS', 1),
    QUIRE_INGEST_HNSW_MAX_PENDING: integer('QUIRE_INGEST_HNSW_MAX_PENDING', 1),
    QUIRE_INGEST_HNSW_SLICE_MS: integer('QUIRE_INGEST_HNSW_SLICE_MS', 1),
    QUIRE_INGEST_URL_FETCH_TIMEOUT_MS: integer('QUIRE_INGEST_URL_FETCH_TIMEOUT_MS', 1),
    QUIRE_INGEST_URL_MAX_REDIRECTS: integer('QUIRE_INGEST_URL_MAX_REDIRECTS', 0, 20),
    QUIRE_INGEST_EVENTS_POLL_MS: integer('QUIRE_INGEST_EVENTS_POLL_MS', 1),
    QUIRE_INGEST_EVENTS_KEEPALIVE_MS: integer('QUIRE_INGEST_EVENTS_KEEPALIVE_MS', 1),
    QUIRE_INGEST_EVENTS_MAX_STREAM_MS: integer('QUIRE_INGEST_EVENTS_MAX_STREAM_MS', 1),
    QUIRE_INGEST_EVENTS_MAX_STREAMS: integer('QUIRE_INGEST_EVENTS_MAX_STREAMS', 1),
    QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_KEY: integer('QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_KEY', 1),
    QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM: integer('QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM', 1),
  })
  .transform((env): IngestionLimits => {
    const eventsMaxStreams = env.QUIRE_INGEST_EVENTS_MAX_STREAMS ?? DEFAULT_LIMITS.eventsMaxStreams;
    const maxUploadBytes = env.QUIRE_INGEST_MAX_UPLOAD_MB ?? env.INGESTION_MAX_UPLOAD_MB ?? DEFAULT_LIMITS.maxUploadBytes;
    // Raising only the per-file limit raises the per-upload total with it: one file at the limit must fit.
    const maxUploadTotalBytes = env.QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB ?? Math.max(DEFAULT_LIMITS.maxUploadTotalBytes, maxUploadBytes);
    return {
      ...DEFAULT_LIMITS,
      maxUploadBytes,
      maxUploadTotalBytes,
      maxFilesPerUpload: env.QUIRE_INGEST_MAX_FILES_PER_UPLOAD ?? DEFAULT_LIMITS.maxFilesPerUpload,
      // Follows a raised upload size unless set, so that a few uploads at the new size still fit at once.
      uploadMemoryBytes: env.QUIRE_INGEST_UPLOAD_MEMORY_MB ?? uploadMemoryDefault(maxUploadTotalBytes),
      concurrency: env.QUIRE_INGEST_CONCURRENCY ?? env.INGESTION_CONCURRENCY ?? DEFAULT_LIMITS.concurrency,
      attempts: env.QUIRE_INGEST_ATTEMPTS ?? DEFAULT_LIMITS.attempts,
      retryBaseDelayMs: env.QUIRE_INGEST_RETRY_BASE_DELAY_MS ?? DEFAULT_LIMITS.retryBaseDelayMs,
      embedBatchCap: env.QUIRE_INGEST_EMBED_BATCH_MAX_INPUTS ?? DEFAULT_LIMITS.embedBatchCap,
      embedBatchMaxTokens: env.QUIRE_INGEST_EMBED_BATCH_MAX_TOKENS ?? DEFAULT_LIMITS.embedBatchMaxTokens,
      embedCallTimeoutMs: env.QUIRE_INGEST_EMBED_CALL_TIMEOUT_MS ?? DEFAULT_LIMITS.embedCallTimeoutMs,
      embedConcurrencyPerProvider: env.QUIRE_INGEST_EMBED_CONCURRENCY_PER_PROVIDER ?? DEFAULT_LIMITS.embedConcurrencyPerProvider,
      reconcileIntervalMs: env.QUIRE_INGEST_RECONCILE_INTERVAL_MS ?? DEFAULT_LIMITS.reconcileIntervalMs,
      staleAfterMs: env.QUIRE_INGEST_STALE_AFTER_MS ?? DEFAULT_LIMITS.staleAfterMs,
      deadAfterMs: env.QUIRE_INGEST_DEAD_AFTER_MS ?? DEFAULT_LIMITS.deadAfterMs,
      parseWorkers: env.QUIRE_INGEST_PARSE_WORKERS ?? DEFAULT_LIMITS.parseWorkers,
      parseHeapMb: env.QUIRE_INGEST_PARSE_HEAP_MB ?? DEFAULT_LIMITS.parseHeapMb,
      parseTimeoutMs: env.QUIRE_INGEST_PARSE_TIMEOUT_MS ?? DEFAULT_LIMITS.parseTimeoutMs,
      chunkTimeoutMs: env.QUIRE_INGEST_CHUNK_TIMEOUT_MS ?? DEFAULT_LIMITS.chunkTimeoutMs,
      maxPages: env.QUIRE_INGEST_MAX_PAGES ?? DEFAULT_LIMITS.maxPages,
      maxExtractedChars: env.QUIRE_INGEST_MAX_EXTRACTED_CHARS ?? DEFAULT_LIMITS.maxExtractedChars,
      maxChunks: env.QUIRE_INGEST_MAX_CHUNKS ?? DEFAULT_LIMITS.maxChunks,
      maxZipEntries: env.QUIRE_INGEST_MAX_ZIP_ENTRIES ?? DEFAULT_LIMITS.maxZipEntries,
      maxUncompressedBytes: env.QUIRE_INGEST_MAX_UNCOMPRESSED_MB ?? DEFAULT_LIMITS.maxUncompressedBytes,
      hnswMinVectors: env.QUIRE_INGEST_HNSW_MIN_VECTORS ?? DEFAULT_LIMITS.hnswMinVectors,
      hnswMaxPending: env.QUIRE_INGEST_HNSW_MAX_PENDING ?? DEFAULT_LIMITS.hnswMaxPending,
      hnswSliceMs: env.QUIRE_INGEST_HNSW_SLICE_MS ?? DEFAULT_LIMITS.hnswSliceMs,
      urlFetchTimeoutMs: env.QUIRE_INGEST_URL_FETCH_TIMEOUT_MS ?? DEFAULT_LIMITS.urlFetchTimeoutMs,
      urlMaxRedirects: env.QUIRE_INGEST_URL_MAX_REDIRECTS ?? DEFAULT_LIMITS.urlMaxRedirects,
      eventsPollMs: env.QUIRE_INGEST_EVENTS_POLL_MS ?? DEFAULT_LIMITS.eventsPollMs,
      eventsKeepAliveMs: env.QUIRE_INGEST_EVENTS_KEEPALIVE_MS ?? DEFAULT_LIMITS.eventsKeepAliveMs,
      eventsMaxStreamMs: env.QUIRE_INGEST_EVENTS_MAX_STREAM_MS ?? DEFAULT_LIMITS.eventsMaxStreamMs,
      eventsMaxStreams,
      eventsMaxStreamsPerKey: env.QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_KEY ?? DEFAULT_LIMITS.eventsMaxStreamsPerKey,
      // Half the process's streams unless set, also when only the process cap is changed.
      eventsMaxStreamsPerTeam: env.QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM ?? streamsPerTeamDefault(eventsMaxStreams),
    };
  })
  .superRefine((limits, ctx) => {
    if (limits.maxUploadTotalBytes < limits.maxUploadBytes) {
      ctx.addIssue({ code: 'custom', message: 'QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB must be at least QUIRE_INGEST_MAX_UPLOAD_MB (one file at the limit must fit in an upload)' });
    }
    // Smaller, every upload between the two sizes would be refused as too large for the memory.
    if (limits.uploadMemoryBytes < limits.maxUploadTotalBytes) {
      ctx.addIssue({ code: 'custom', message: 'QUIRE_INGEST_UPLOAD_MEMORY_MB must be at least QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB (one upload at the limit must fit in the memory for uploads)' });
    }
    // Parsing formats other than PDF, and chunking, write no progress: a stale-after time within
    // their budgets would take over a document that is only being parsed or chunked slowly.
    const quiet = limits.parseTimeoutMs + limits.chunkTimeoutMs;
    if (limits.staleAfterMs <= quiet) {
      ctx.addIssue({
        code: 'custom',
        message: `QUIRE_INGEST_STALE_AFTER_MS (${limits.staleAfterMs}) must exceed QUIRE_INGEST_PARSE_TIMEOUT_MS + QUIRE_INGEST_CHUNK_TIMEOUT_MS (${quiet}): parsing and chunking write no progress, so a document still within those limits would be taken over as stalled`,
      });
    }
    // A team share above the process cap is no share: one team could take every place again.
    if (limits.eventsMaxStreamsPerTeam > limits.eventsMaxStreams) {
      ctx.addIssue({
        code: 'custom',
        message: `QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM (${limits.eventsMaxStreamsPerTeam}) must be at most QUIRE_INGEST_EVENTS_MAX_STREAMS (${limits.eventsMaxStreams}), the streams of the whole process`,
      });
    }
    // A running attempt shows it is alive every aliveIntervalMs; a few missed refreshes (a busy
    // event loop, a slow write) must not count as a dead worker.
    const minDead = 3 * limits.aliveIntervalMs;
    if (limits.deadAfterMs < minDead) {
      ctx.addIssue({
        code: 'custom',
        message: `QUIRE_INGEST_DEAD_AFTER_MS (${limits.deadAfterMs}) must be at least ${minDead}, three times the ${limits.aliveIntervalMs} ms at which a running attempt shows it is alive, so a late refresh is not taken for a dead worker`,
      });
    }
  });

/** Every ingestion limit: the environment's value where set, the default otherwise; throws ConfigError (`ingestion_config_invalid`). */
export function readIngestionLimitsEnv(env: NodeJS.ProcessEnv = process.env): IngestionLimits {
  const parsed = IngestionLimitsEnvSchema.safeParse(env);
  if (!parsed.success) throw ConfigError.fromIssues('ingestion', parsed.error.issues);
  return parsed.data;
}

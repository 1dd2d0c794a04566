/** Tunables with production defaults; tests shrink delays and sizes. */
export interface IngestionLimits {
  /** Largest accepted file, in bytes (multer refuses bigger parts with 413). */
  maxUploadBytes: number;
  /** All the files of one multipart upload together, in bytes: twenty files under the per-file limit are still one body in memory. */
  maxUploadTotalBytes: number;
  maxFilesPerUpload: number;
  /**
   * Upload bytes one process holds at once, over every upload being received or stored (multipart
   * files, JSON bodies, fetched URLs): an upload that does not fit waits for others (503
   * `uploads_busy`), one larger than all of it is refused (413). See upload/upload-memory.ts.
   */
  uploadMemoryBytes: number;
  /**
   * Jobs one process runs at once (in-process runner and BullMQ worker alike). Twice the
   * per-provider embedding cap: a job parses, embeds and indexes its document in turn, so while
   * some jobs parse or index, others keep the provider's calls in flight (the cap still bounds
   * them). With as many jobs as the cap, a 1 s provider took 1.8× its budget; with twice, 1.1×.
   */
  concurrency: number;
  /** Total tries per job, the first included. */
  attempts: number;
  /** First retry delay; doubles per attempt. */
  retryBaseDelayMs: number;
  /** Never send more than this many texts in one embedding call, whatever the model allows. */
  embedBatchCap: number;
  /**
   * Never send more than this many estimated tokens in one embedding call (`estimateEmbeddingTokens` in @quire/models),
   * nor more than the model's own `maxTokensPerCall`. Behind the gateway ingestion cannot see which
   * provider a route ends at, so the default fits every documented cap but Mistral's (16,384).
   */
  embedBatchMaxTokens: number;
  /**
   * The longest one embedding call may take before it is stopped and retried as a provider timeout.
   * A live worker keeps its claim while it waits, so this, not the stale time, ends a call that hangs.
   */
  embedCallTimeoutMs: number;
  /** How often the reconciler sweeps for documents nobody is working on. */
  reconcileIntervalMs: number;
  /**
   * A `processing` document whose progress heartbeat is older than this has stalled (its worker is
   * alive but stuck) and is taken over under a new version. Parsing other formats than PDF, and
   * chunking, write no progress, so this must exceed `parseTimeoutMs + chunkTimeoutMs`.
   */
  staleAfterMs: number;
  /**
   * A `processing` document whose holder has shown no sign of life (`alive_at`) for this long has
   * lost its worker (killed, restarted) and is taken over at once, whatever its progress.
   * Well above `aliveIntervalMs`, so a busy event loop or a slow write is not taken for a death.
   */
  deadAfterMs: number;
  /** How often a running attempt refreshes its document's `alive_at`. */
  aliveIntervalMs: number;
  /** Parsing runs in worker threads: how many, each one's heap and wall-clock budget. */
  parseWorkers: number;
  parseHeapMb: number;
  parseTimeoutMs: number;
  /**
   * Chunking runs in the same worker, after parsing, under the same heap: its wall-clock budget,
   * counted from the end of parsing (the `tokens` strategy is by far the slowest).
   */
  chunkTimeoutMs: number;
  /** Refused beyond these (the document fails with a clear parse error). */
  maxPages: number;
  maxExtractedChars: number;
  maxChunks: number;
  /** DOCX (ZIP) caps, checked before inflating and enforced while inflating. */
  maxZipEntries: number;
  maxUncompressedBytes: number;
  /** Embedding calls in flight at once per provider, across all jobs of this process. */
  embedConcurrencyPerProvider: number;
  /**
   * HNSW graphs per index version (see @quire/index-versions' vector-graph.ts). A version is searched
   * exactly, with no graph, until it holds this many vectors (of up to 256 dimensions; proportionally
   * fewer for larger vectors); then a background task builds the graph a slice at a time.
   */
  hnswMinVectors: number;
  /**
   * Vectors of a graphed version that may wait outside the graph (searched exactly meanwhile). Past
   * it, new vectors go into the graph as they are written, so ingestion slows to the graph's pace
   * instead of search scanning an unbounded tail. Scaled with dimensions like `hnswMinVectors`.
   */
  hnswMaxPending: number;
  /**
   * Target time one background graph slice holds the database connection: PGlite runs one
   * statement at a time, so a request arriving meanwhile waits up to this long.
   */
  hnswSliceMs: number;
  /** `{url}` ingestion: deadline, and whether loopback addresses are allowed (tests only). */
  urlFetchTimeoutMs: number;
  /**
   * `{url}` ingestion: redirects followed before the fetch is refused (each hop passes the address
   * check again; a redirect from https to http is refused whatever this says).
   */
  urlMaxRedirects: number;
  allowLoopbackUrls: boolean;
  /**
   * Progress streams (GET /v1/documents/:id/events): how often each re-reads its document, how long
   * a quiet stream waits before a keep-alive comment, how long one stream lasts before it asks the
   * client to reconnect, and how many may be open at once in this process.
   */
  eventsPollMs: number;
  eventsKeepAliveMs: number;
  eventsMaxStreamMs: number;
  eventsMaxStreams: number;
  /**
   * Open progress streams one API key, and one team (all its keys), may hold in this process; more
   * are refused with 429. They keep one caller from taking every place of `eventsMaxStreams`, which
   * would refuse every other team. The team's share defaults to half the process cap (see
   * `streamsPerTeamDefault`), so a second team always has room.
   */
  eventsMaxStreamsPerKey: number;
  eventsMaxStreamsPerTeam: number;
}

/**
 * The setting (see limits-env.ts) behind each limit a refusal or a document failure reports, so the
 * message says what an operator would raise. Parse workers import this too: keep the module free of imports.
 */
export const LIMIT_SETTING = {
  maxUploadBytes: 'QUIRE_INGEST_MAX_UPLOAD_MB',
  maxUploadTotalBytes: 'QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB',
  maxFilesPerUpload: 'QUIRE_INGEST_MAX_FILES_PER_UPLOAD',
  uploadMemoryBytes: 'QUIRE_INGEST_UPLOAD_MEMORY_MB',
  maxPages: 'QUIRE_INGEST_MAX_PAGES',
  maxExtractedChars: 'QUIRE_INGEST_MAX_EXTRACTED_CHARS',
  maxChunks: 'QUIRE_INGEST_MAX_CHUNKS',
  maxZipEntries: 'QUIRE_INGEST_MAX_ZIP_ENTRIES',
  maxUncompressedBytes: 'QUIRE_INGEST_MAX_UNCOMPRESSED_MB',
  parseTimeoutMs: 'QUIRE_INGEST_PARSE_TIMEOUT_MS',
  parseHeapMb: 'QUIRE_INGEST_PARSE_HEAP_MB',
  chunkTimeoutMs: 'QUIRE_INGEST_CHUNK_TIMEOUT_MS',
  urlFetchTimeoutMs: 'QUIRE_INGEST_URL_FETCH_TIMEOUT_MS',
  urlMaxRedirects: 'QUIRE_INGEST_URL_MAX_REDIRECTS',
} as const satisfies Partial<Record<keyof IngestionLimits, `QUIRE_INGEST_${string}`>>;

/**
 * The limits a stored document can fail under while it is parsed and chunked (the others refuse an
 * upload before anything is stored). A failure under one records the limit and its value then
 * (`documents.error_limit`, migration 0029), so that once an operator raises it a retry of the same
 * bytes is let through instead of refused as the file's fault (document-retry-routes.ts).
 */
export const DOCUMENT_LIMITS = [
  'maxPages',
  'maxExtractedChars',
  'maxChunks',
  'maxZipEntries',
  'maxUncompressedBytes',
  'parseTimeoutMs',
  'parseHeapMb',
  'chunkTimeoutMs',
] as const satisfies readonly (keyof typeof LIMIT_SETTING)[];
export type DocumentLimitName = (typeof DOCUMENT_LIMITS)[number];

/** A limit a document failed under, and its value at the time, in IngestionLimits' units (bytes, ms, MiB). */
export interface FailedLimit {
  name: DocumentLimitName;
  value: number;
}

const MIB = 1024 * 1024;

/**
 * A byte size as the `_MB` settings count it: mebibytes (2^20 bytes), so "50 MiB" and not "50 MB"
 * (which reads as 50,000,000 bytes). Sizes under a tenth of a MiB (tests' limits) in bytes.
 */
export function mebibytes(bytes: number): string {
  return bytes < MIB / 10 ? `${bytes} bytes` : `${Math.round((bytes / MIB) * 10) / 10} MiB`;
}

/**
 * A failed-under value in its setting's own units, the number an operator compares with what they
 * set: the `_MB` settings count mebibytes where IngestionLimits counts bytes.
 */
export function inSettingUnits(limit: FailedLimit): number {
  return limit.name === 'maxUncompressedBytes' ? limit.value / MIB : limit.value;
}

/**
 * The largest JSON body the service reads (JSON `{text}` uploads), in bytes. The JSON parser reads
 * it before any route runs, so a JSON upload sent without a length is counted at this size.
 */
export const JSON_BODY_MAX_BYTES = 25 * MIB;

/**
 * The default upload memory: four uploads of the largest size one may have (multipart files
 * together, or a JSON body), so a few big uploads at once are received while a burst waits.
 */
export function uploadMemoryDefault(maxUploadTotalBytes: number): number {
  return 4 * Math.max(maxUploadTotalBytes, JSON_BODY_MAX_BYTES);
}

/** The default team share of the process's progress streams: half, at least one. */
export function streamsPerTeamDefault(eventsMaxStreams: number): number {
  return Math.max(1, Math.floor(eventsMaxStreams / 2));
}

export const DEFAULT_LIMITS: IngestionLimits = {
  maxUploadBytes: 50 * 1024 * 1024,
  maxUploadTotalBytes: 100 * 1024 * 1024,
  maxFilesPerUpload: 20,
  uploadMemoryBytes: uploadMemoryDefault(100 * 1024 * 1024),
  concurrency: 8,
  attempts: 3,
  retryBaseDelayMs: 1000,
  // Cohere's 96 texts per call is the smallest documented count cap.
  embedBatchCap: 96,
  // Under Voyage's 120K (voyage-3-large, voyage-code-3), the smallest token cap but Mistral's, with room
  // to spare; 96 chunks of the default 1,000 characters (about 98K estimated) still go in one call.
  embedBatchMaxTokens: 100_000,
  embedCallTimeoutMs: 5 * 60_000,
  reconcileIntervalMs: 60_000,
  staleAfterMs: 10 * 60_000,
  deadAfterMs: 60_000,
  aliveIntervalMs: 5_000,
  parseWorkers: 2,
  parseHeapMb: 512,
  parseTimeoutMs: 120_000,
  chunkTimeoutMs: 120_000,
  maxPages: 2000,
  maxExtractedChars: 20_000_000,
  maxChunks: 50_000,
  maxZipEntries: 2000,
  maxUncompressedBytes: 100 * 1024 * 1024,
  embedConcurrencyPerProvider: 4,
  // An exact vector query in PGlite costs about 2 ms per 1,000 vectors of 256 dimensions
  // (bench/ingest/exact-search.ts): 20 ms at the threshold, about 40 ms for the largest pending tail.
  hnswMinVectors: 10_000,
  hnswMaxPending: 20_000,
  hnswSliceMs: 50,
  urlFetchTimeoutMs: 20_000,
  // Links from newsletters and short-link services often take 4-6 hops (tracker, http -> https, www,
  // canonical path); browsers and fetch() follow 20.
  urlMaxRedirects: 10,
  allowLoopbackUrls: false,
  eventsPollMs: 1000,
  // Under the 30-60 s idle timeouts common in proxies and load balancers.
  eventsKeepAliveMs: 15_000,
  eventsMaxStreamMs: 10 * 60_000,
  eventsMaxStreams: 500,
  // A browser tab per document being watched is a handful; a script opening one per upload of a
  // 20-file batch fits too.
  eventsMaxStreamsPerKey: 20,
  eventsMaxStreamsPerTeam: streamsPerTeamDefault(500),
};

/**
 * The defaults with `partial` over them; the team's stream share follows a changed process cap, and
 * the upload memory a changed upload size, unless set.
 */
export function resolveLimits(partial: Partial<IngestionLimits> = {}): IngestionLimits {
  const eventsMaxStreams = partial.eventsMaxStreams ?? DEFAULT_LIMITS.eventsMaxStreams;
  const maxUploadTotalBytes = partial.maxUploadTotalBytes ?? DEFAULT_LIMITS.maxUploadTotalBytes;
  return {
    ...DEFAULT_LIMITS,
    ...partial,
    uploadMemoryBytes: partial.uploadMemoryBytes ?? uploadMemoryDefault(maxUploadTotalBytes),
    eventsMaxStreamsPerTeam: partial.eventsMaxStreamsPerTeam ?? streamsPerTeamDefault(eventsMaxStreams),
  };
}

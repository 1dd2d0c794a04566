import { DEFAULT_LIMITS, resolveLimits } from './limits.js';
import { thrownBy } from '@quire/fakes';
import { ConfigError } from '@quire/server-kit';
import { readIngestionLimitsEnv } from './limits-env.js';

const MB = 1024 * 1024;

const refusal = (env: NodeJS.ProcessEnv): ConfigError => thrownBy(() => readIngestionLimitsEnv(env), ConfigError.is);

describe('readIngestionLimitsEnv', () => {
  it('gives the defaults when nothing is set, and ignores unrelated and blank variables', () => {
    expect(readIngestionLimitsEnv({})).toEqual(DEFAULT_LIMITS);
    expect(readIngestionLimitsEnv({ PATH: '/usr/bin', QUIRE_INGEST_MAX_PAGES: '', QUIRE_INGEST_MAX_CHUNKS: '  ' })).toEqual(DEFAULT_LIMITS);
  });

  it('reads every limit from its QUIRE_INGEST_* variable, sizes in megabytes', () => {
    const limits = readIngestionLimitsEnv({
      QUIRE_INGEST_MAX_UPLOAD_MB: '10',
      QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB: '25.5',
      QUIRE_INGEST_MAX_FILES_PER_UPLOAD: '5',
      QUIRE_INGEST_UPLOAD_MEMORY_MB: '300',
      QUIRE_INGEST_CONCURRENCY: '3',
      QUIRE_INGEST_ATTEMPTS: '7',
      QUIRE_INGEST_RETRY_BASE_DELAY_MS: '0',
      QUIRE_INGEST_EMBED_BATCH_MAX_INPUTS: '32',
      QUIRE_INGEST_EMBED_BATCH_MAX_TOKENS: '16000',
      QUIRE_INGEST_EMBED_CALL_TIMEOUT_MS: '90000',
      QUIRE_INGEST_EMBED_CONCURRENCY_PER_PROVIDER: '2',
      QUIRE_INGEST_RECONCILE_INTERVAL_MS: '30000',
      QUIRE_INGEST_STALE_AFTER_MS: '120000',
      QUIRE_INGEST_DEAD_AFTER_MS: '30000',
      QUIRE_INGEST_PARSE_WORKERS: '4',
      QUIRE_INGEST_PARSE_HEAP_MB: '1024',
      QUIRE_INGEST_PARSE_TIMEOUT_MS: '60000',
      QUIRE_INGEST_CHUNK_TIMEOUT_MS: '30000',
      QUIRE_INGEST_MAX_PAGES: '300',
      QUIRE_INGEST_MAX_EXTRACTED_CHARS: '5000000',
      QUIRE_INGEST_MAX_CHUNKS: '10000',
      QUIRE_INGEST_MAX_ZIP_ENTRIES: '500',
      QUIRE_INGEST_MAX_UNCOMPRESSED_MB: '64',
      QUIRE_INGEST_HNSW_MIN_VECTORS: '5000',
      QUIRE_INGEST_HNSW_MAX_PENDING: '8000',
      QUIRE_INGEST_HNSW_SLICE_MS: '25',
      QUIRE_INGEST_URL_FETCH_TIMEOUT_MS: '5000',
      QUIRE_INGEST_URL_MAX_REDIRECTS: '0',
      QUIRE_INGEST_EVENTS_POLL_MS: '500',
      QUIRE_INGEST_EVENTS_KEEPALIVE_MS: '10000',
      QUIRE_INGEST_EVENTS_MAX_STREAM_MS: '300000',
      QUIRE_INGEST_EVENTS_MAX_STREAMS: '50',
      QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_KEY: '5',
      QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM: '40',
    });
    expect(limits).toEqual({
      maxUploadBytes: 10 * MB,
      maxUploadTotalBytes: Math.round(25.5 * MB),
      maxFilesPerUpload: 5,
      uploadMemoryBytes: 300 * MB,
      concurrency: 3,
      attempts: 7,
      retryBaseDelayMs: 0,
      embedBatchCap: 32,
      embedBatchMaxTokens: 16_000,
      embedCallTimeoutMs: 90_000,
      embedConcurrencyPerProvider: 2,
      reconcileIntervalMs: 30_000,
      staleAfterMs: 120_000,
      deadAfterMs: 30_000,
      aliveIntervalMs: DEFAULT_LIMITS.aliveIntervalMs,
      parseWorkers: 4,
      parseHeapMb: 1024,
      parseTimeoutMs: 60_000,
      chunkTimeoutMs: 30_000,
      maxPages: 300,
      maxExtractedChars: 5_000_000,
      maxChunks: 10_000,
      maxZipEntries: 500,
      maxUncompressedBytes: 64 * MB,
      hnswMinVectors: 5000,
      hnswMaxPending: 8000,
      hnswSliceMs: 25,
      urlFetchTimeoutMs: 5000,
      urlMaxRedirects: 0,
      allowLoopbackUrls: false,
      eventsPollMs: 500,
      eventsKeepAliveMs: 10_000,
      eventsMaxStreamMs: 300_000,
      eventsMaxStreams: 50,
      eventsMaxStreamsPerKey: 5,
      eventsMaxStreamsPerTeam: 40,
    });
  });

  it('gives a team half the process\'s progress streams unless set, and refuses a team share above the process cap', () => {
    expect(readIngestionLimitsEnv({}).eventsMaxStreamsPerTeam).toBe(250);
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_EVENTS_MAX_STREAMS: '20' })).toMatchObject({ eventsMaxStreams: 20, eventsMaxStreamsPerTeam: 10, eventsMaxStreamsPerKey: 20 });
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_EVENTS_MAX_STREAMS: '1' }).eventsMaxStreamsPerTeam).toBe(1);
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_EVENTS_MAX_STREAMS: '20', QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM: '20' }).eventsMaxStreamsPerTeam).toBe(20);
    expect(refusal({ QUIRE_INGEST_EVENTS_MAX_STREAMS: '20', QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM: '21' }).issues).toEqual([
      'QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM (21) must be at most QUIRE_INGEST_EVENTS_MAX_STREAMS (20), the streams of the whole process',
    ]);
  });

  it('still reads the older INGESTION_* names, the new names winning', () => {
    expect(readIngestionLimitsEnv({ INGESTION_MAX_UPLOAD_MB: '20', INGESTION_CONCURRENCY: '4' })).toMatchObject({ maxUploadBytes: 20 * MB, concurrency: 4 });
    expect(readIngestionLimitsEnv({ INGESTION_CONCURRENCY: '4', QUIRE_INGEST_CONCURRENCY: '6' }).concurrency).toBe(6);
  });

  it('raises the per-upload total with a larger per-file limit unless the total is set', () => {
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_MAX_UPLOAD_MB: '200' })).toMatchObject({ maxUploadBytes: 200 * MB, maxUploadTotalBytes: 200 * MB });
    expect(refusal({ QUIRE_INGEST_MAX_UPLOAD_MB: '200', QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB: '150' }).message).toBe(
      'Invalid ingestion configuration: QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB must be at least QUIRE_INGEST_MAX_UPLOAD_MB (one file at the limit must fit in an upload)',
    );
  });

  it('holds four of the largest uploads in upload memory unless set, and refuses less than one upload at the limit', () => {
    expect(DEFAULT_LIMITS.uploadMemoryBytes).toBe(400 * MB);
    // Follows a raised upload size; never under four JSON bodies (25 MiB, read before any route).
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB: '250' }).uploadMemoryBytes).toBe(1000 * MB);
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_MAX_UPLOAD_MB: '300' }).uploadMemoryBytes).toBe(1200 * MB);
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_MAX_UPLOAD_MB: '1', QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB: '2' }).uploadMemoryBytes).toBe(100 * MB);
    expect(resolveLimits({ maxUploadTotalBytes: 250 * MB }).uploadMemoryBytes).toBe(1000 * MB);
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_UPLOAD_MEMORY_MB: '100' }).uploadMemoryBytes).toBe(100 * MB);
    expect(refusal({ QUIRE_INGEST_UPLOAD_MEMORY_MB: '99.5' }).issues).toEqual([
      'QUIRE_INGEST_UPLOAD_MEMORY_MB must be at least QUIRE_INGEST_MAX_UPLOAD_TOTAL_MB (one upload at the limit must fit in the memory for uploads)',
    ]);
    expect(refusal({ QUIRE_INGEST_UPLOAD_MEMORY_MB: 'lots' }).issues).toEqual(['QUIRE_INGEST_UPLOAD_MEMORY_MB must be a positive number of megabytes (got "lots")']);
  });

  it.each([
    ['QUIRE_INGEST_MAX_PAGES', 'abc', 'QUIRE_INGEST_MAX_PAGES must be a positive integer (got "abc")'],
    ['QUIRE_INGEST_MAX_PAGES', '0', 'QUIRE_INGEST_MAX_PAGES must be a positive integer (got "0")'],
    ['QUIRE_INGEST_MAX_CHUNKS', '-5', 'QUIRE_INGEST_MAX_CHUNKS must be a positive integer (got "-5")'],
    ['QUIRE_INGEST_PARSE_TIMEOUT_MS', '1.5', 'QUIRE_INGEST_PARSE_TIMEOUT_MS must be a positive integer (got "1.5")'],
    ['QUIRE_INGEST_ATTEMPTS', '1e3', 'QUIRE_INGEST_ATTEMPTS must be a positive integer (got "1e3")'],
    ['QUIRE_INGEST_MAX_EXTRACTED_CHARS', '99999999999999999999', 'QUIRE_INGEST_MAX_EXTRACTED_CHARS must be a positive integer (got "99999999999999999999")'],
    ['QUIRE_INGEST_RETRY_BASE_DELAY_MS', '-1', 'QUIRE_INGEST_RETRY_BASE_DELAY_MS must be a non-negative integer (got "-1")'],
    ['QUIRE_INGEST_CONCURRENCY', '65', 'QUIRE_INGEST_CONCURRENCY must be a positive integer no larger than 64 (got "65")'],
    ['QUIRE_INGEST_MAX_UPLOAD_MB', '0', 'QUIRE_INGEST_MAX_UPLOAD_MB must be a positive number of megabytes (got "0")'],
    ['QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_KEY', '0', 'QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_KEY must be a positive integer (got "0")'],
    ['QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM', 'half', 'QUIRE_INGEST_EVENTS_MAX_STREAMS_PER_TEAM must be a positive integer (got "half")'],
    ['QUIRE_INGEST_MAX_UNCOMPRESSED_MB', 'ten', 'QUIRE_INGEST_MAX_UNCOMPRESSED_MB must be a positive number of megabytes (got "ten")'],
    ['QUIRE_INGEST_URL_MAX_REDIRECTS', '21', 'QUIRE_INGEST_URL_MAX_REDIRECTS must be a non-negative integer no larger than 20 (got "21")'],
    ['QUIRE_INGEST_URL_MAX_REDIRECTS', '-1', 'QUIRE_INGEST_URL_MAX_REDIRECTS must be a non-negative integer no larger than 20 (got "-1")'],
  ])('refuses %s=%s with a clear message', (name, value, message) => {
    const error = refusal({ [name]: value });
    expect(error.code).toBe('ingestion_config_invalid');
    expect(error.issues).toEqual([message]);
    expect(error.message).toBe(`Invalid ingestion configuration: ${message}`);
  });

  it('refuses a stale-after time within the parse and chunk budgets (they write no progress)', () => {
    expect(refusal({ QUIRE_INGEST_STALE_AFTER_MS: '200000' }).issues).toEqual([
      'QUIRE_INGEST_STALE_AFTER_MS (200000) must exceed QUIRE_INGEST_PARSE_TIMEOUT_MS + QUIRE_INGEST_CHUNK_TIMEOUT_MS (240000): parsing and chunking write no progress, so a document still within those limits would be taken over as stalled',
    ]);
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_STALE_AFTER_MS: '200000', QUIRE_INGEST_PARSE_TIMEOUT_MS: '100000', QUIRE_INGEST_CHUNK_TIMEOUT_MS: '60000' }).staleAfterMs).toBe(200_000);
  });

  it('refuses a dead-after time too close to the alive refresh interval', () => {
    expect(refusal({ QUIRE_INGEST_DEAD_AFTER_MS: '10000' }).issues).toEqual([
      'QUIRE_INGEST_DEAD_AFTER_MS (10000) must be at least 15000, three times the 5000 ms at which a running attempt shows it is alive, so a late refresh is not taken for a dead worker',
    ]);
    expect(readIngestionLimitsEnv({ QUIRE_INGEST_DEAD_AFTER_MS: '15000' }).deadAfterMs).toBe(15_000);
  });

  it('reports every bad variable at once', () => {
    expect(refusal({ QUIRE_INGEST_MAX_PAGES: 'x', QUIRE_INGEST_STALE_AFTER_MS: '0', QUIRE_INGEST_MAX_CHUNKS: '100' }).issues).toEqual([
      'QUIRE_INGEST_STALE_AFTER_MS must be a positive integer (got "0")',
      'QUIRE_INGEST_MAX_PAGES must be a positive integer (got "x")',
    ]);
  });
});

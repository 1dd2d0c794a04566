/** Tunables with production defaults; tests shrink delays and sizes. */
export interface IngestionLimits {
  /** Largest accepted file, in bytes (multer refuses bigger parts with 413). */
  maxUploadBytes: number;
  maxFilesPerUpload: number;
  /** Jobs one process runs at once (in-process runner and BullMQ worker alike). */
  concurrency: number;
  /** Total tries per job, the first included. */
  attempts: number;
  /** First retry delay; doubles per attempt. */
  retryBaseDelayMs: number;
  /** Never send more than this many texts in one embedding call, whatever the model allows. */
  embedBatchCap: number;
  /** How often the reconciler sweeps for documents nobody is working on. */
  reconcileIntervalMs: number;
  /** A `processing` document whose heartbeat is older than this is taken over under a new version. */
  staleAfterMs: number;
}

export const DEFAULT_LIMITS: IngestionLimits = {
  maxUploadBytes: 50 * 1024 * 1024,
  maxFilesPerUpload: 20,
  concurrency: 2,
  attempts: 3,
  retryBaseDelayMs: 1000,
  embedBatchCap: 96,
  reconcileIntervalMs: 60_000,
  staleAfterMs: 10 * 60_000,
};

export function resolveLimits(partial: Partial<IngestionLimits> = {}): IngestionLimits {
  return { ...DEFAULT_LIMITS, ...partial };
}

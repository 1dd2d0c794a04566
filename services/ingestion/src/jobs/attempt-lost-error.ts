/**
 * The reason an attempt stops early: a progress write or the keep-alive found that the attempt no
 * longer owns its document (deleted, superseded by a replacement, taken over under a newer version,
 * or no longer `processing`). Not a failure of the document: the handler completes the job without
 * writing and without a retry, since the row is gone or someone else's now.
 */
export class AttemptLostError extends Error {
  override name = 'AttemptLostError';
  readonly code = 'attempt_lost';
}

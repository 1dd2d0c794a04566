import type { Queryable } from '@quire/db';
import { markAlive } from '../repo/document-jobs-repo.js';

export interface AttemptAlive {
  /** Stops refreshing; resolves once a refresh in flight has settled, so none lands after the attempt. */
  stop(): Promise<void>;
}

/**
 * Refreshes the document's `alive_at` every `intervalMs` while this attempt owns it, whatever the
 * attempt is doing (a long parse, one slow embedding call): liveness apart from progress, so a
 * redelivery after this worker is killed takes over within the dead-after time, while one during a
 * slow but live attempt stays a no-op. Stops by itself once the attempt no longer owns the
 * document, and then calls `onLost` (while not stopped), so the attempt can stop too. The timer does
 * not keep the process alive.
 */
export function keepAttemptAlive(
  db: Queryable,
  documentId: string,
  version: number,
  intervalMs: number,
  onError: (error: unknown) => void,
  onLost: () => void = () => undefined,
): AttemptAlive {
  let writing: Promise<void> | null = null;
  let stopped = false;
  const timer = setInterval(() => {
    // One refresh at a time: a slow database must not pile them up.
    if (writing) return;
    writing = markAlive(db, documentId, version)
      .then(
        (owned) => {
          if (owned) return;
          clearInterval(timer);
          if (!stopped) onLost();
        },
        onError,
      )
      .finally(() => {
        writing = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await writing;
    },
  };
}

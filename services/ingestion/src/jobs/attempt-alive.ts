import type { Queryable } from '@quire/db';
import { markAlive } from '../repo/document-jobs-repo.js';
import { keepAlive } from './keep-alive.js';

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
  let stopped = false;
  const alive = keepAlive({ renew: () => markAlive(db, documentId, version), intervalMs, onError });
  alive.signal.addEventListener('abort', () => {
    if (!stopped) onLost();
  });
  return {
    async stop() {
      stopped = true;
      await alive.stop();
    },
  };
}

import type { Queryable } from '@quire/db';
import { keepAlive } from '../jobs/keep-alive.js';
import { BuildLeaseLostError, renewBuildLease } from './build-lease.js';

export interface BuildLeaseHeartbeat {
  /** Aborted, with a BuildLeaseLostError as its reason, once a renewal finds the lease gone. */
  readonly signal: AbortSignal;
  /** Stops renewing; resolves once a renewal in flight has settled, so none lands after the build. */
  stop(): Promise<void>;
}

/** Renew a few times per lease, so one late or failed renewal does not let it lapse; no busier than the database needs. */
const heartbeatIntervalMs = (leaseMs: number) => Math.min(60_000, Math.max(50, Math.floor(leaseMs / 3)));

/**
 * Renews a build's lease on a timer for as long as the build holds it, whatever the build is
 * doing (one embedding call may outlast the lease): liveness apart from progress, as
 * `keepAttemptAlive` does for documents. Renewing at batch boundaries alone let a sweep elsewhere
 * take a live build over mid-call and embed, and bill, the same batch again. Once a renewal finds
 * the lease gone (taken over, or the version left `building`) it aborts `signal`, so the call in
 * flight is cancelled and the build stops without writing. A renewal that fails (database error)
 * is reported and tried again at the next tick. The timer does not keep the process alive.
 */
export function keepBuildLeaseAlive(
  db: Queryable,
  versionId: string,
  holder: string,
  leaseMs: number,
  onError: (error: unknown) => void,
): BuildLeaseHeartbeat {
  return keepAlive({
    renew: () => renewBuildLease(db, versionId, holder, leaseMs),
    intervalMs: heartbeatIntervalMs(leaseMs),
    onError,
    lostReason: () => new BuildLeaseLostError(`The lease on index version ${versionId} is no longer ${holder}'s.`),
  });
}

export interface KeepAliveOptions {
  /** One renewal; resolves false once whatever it keeps alive is no longer held. */
  renew: () => Promise<boolean>;
  intervalMs: number;
  /** A renewal that failed (rather than found the hold gone); tried again at the next tick. */
  onError: (error: unknown) => void;
  /** The reason `signal` is aborted with once a renewal finds the hold gone. */
  lostReason?: () => unknown;
}

export interface KeepAlive {
  /** Aborted, with `lostReason()`, once a renewal finds the hold gone; renewing stops then. */
  readonly signal: AbortSignal;
  /** Stops renewing; resolves once a renewal in flight has settled, so none lands after. */
  stop(): Promise<void>;
}

/**
 * Calls `renew` every `intervalMs`, one renewal in flight at a time (a slow database must not
 * pile them up), until stopped or until a renewal reports the hold lost. The timer does not keep
 * the process alive.
 */
export function keepAlive({ renew, intervalMs, onError, lostReason }: KeepAliveOptions): KeepAlive {
  const lost = new AbortController();
  let renewing: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (renewing) return;
    renewing = renew()
      .then(
        (held) => {
          if (held) return;
          clearInterval(timer);
          lost.abort(lostReason?.());
        },
        onError,
      )
      .finally(() => {
        renewing = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    signal: lost.signal,
    async stop() {
      clearInterval(timer);
      await renewing;
    },
  };
}

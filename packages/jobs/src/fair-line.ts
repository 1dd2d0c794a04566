/**
 * Waiting jobs in one FIFO line per fairness key. The next job comes from the key with the fewest
 * jobs running and, among those, the one served longest ago: a key's backlog takes turns with the
 * other keys instead of going first, and a key already holding slots yields to one holding none.
 */
export interface FairLine<E> {
  push(key: string, entry: E): void;
  /** The next job to start; it counts as running under its key until `finished(key)`. */
  take(): { key: string; entry: E } | undefined;
  finished(key: string): void;
  /** Takes out the first waiting job that matches; says whether there was one. */
  remove(match: (entry: E) => boolean): boolean;
  clear(): void;
  readonly size: number;
}

export function createFairLine<E>(): FairLine<E> {
  const lines = new Map<string, E[]>();
  const running = new Map<string, number>();
  // When each key last started a job; a key seen for the first time (or again after going idle) has none.
  const served = new Map<string, number>();
  let turn = 0;
  let waiting = 0;

  const forgetIfIdle = (key: string) => {
    if (!lines.has(key) && !running.has(key)) served.delete(key);
  };

  return {
    push(key, entry) {
      const line = lines.get(key);
      if (line) line.push(entry);
      else lines.set(key, [entry]);
      waiting++;
    },
    take() {
      let best: string | undefined;
      for (const key of lines.keys()) {
        if (best === undefined) {
          best = key;
          continue;
        }
        const [r, b] = [running.get(key) ?? 0, running.get(best) ?? 0];
        if (r < b || (r === b && (served.get(key) ?? -1) < (served.get(best) ?? -1))) best = key;
      }
      if (best === undefined) return undefined;
      const line = lines.get(best)!;
      const entry = line.shift()!;
      if (line.length === 0) lines.delete(best);
      waiting--;
      running.set(best, (running.get(best) ?? 0) + 1);
      served.set(best, turn++);
      return { key: best, entry };
    },
    finished(key) {
      const left = (running.get(key) ?? 0) - 1;
      if (left > 0) running.set(key, left);
      else running.delete(key);
      forgetIfIdle(key);
    },
    remove(match) {
      for (const [key, line] of lines) {
        const at = line.findIndex(match);
        if (at < 0) continue;
        line.splice(at, 1);
        waiting--;
        if (line.length === 0) {
          lines.delete(key);
          forgetIfIdle(key);
        }
        return true;
      }
      return false;
    },
    clear() {
      lines.clear();
      waiting = 0;
      for (const key of [...served.keys()]) forgetIfIdle(key);
    },
    get size() {
      return waiting;
    },
  };
}

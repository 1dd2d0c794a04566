import type { Db, Queryable } from '@quire/db';

/** Per-statement wall time, grouped by the statement's first words (for the benchmarks' profiles). */
export type StatementTimings = Map<string, { ms: number; n: number }>;

const label = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 60);

function timed(q: Queryable, timings: StatementTimings): Queryable {
  return {
    exec: (sql) => q.exec(sql),
    async query(sql, params) {
      const t = performance.now();
      try {
        return await q.query(sql, params);
      } finally {
        const k = label(sql);
        const e = timings.get(k) ?? { ms: 0, n: 0 };
        e.ms += performance.now() - t;
        e.n++;
        timings.set(k, e);
      }
    },
  } as Queryable;
}

/** Wraps a database so every statement's time is added to `timings`, inside transactions too. */
export function timedDb(db: Db, timings: StatementTimings): Db {
  return { ...timed(db, timings), kind: db.kind, close: () => db.close(), transaction: (fn) => db.transaction((tx) => fn(timed(tx, timings))) } as Db;
}

export function topStatements(timings: StatementTimings, per: number, unit: string, limit = 15): string[] {
  return [...timings]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, limit)
    .map(([k, v]) => `${(v.ms / per).toFixed(3).padStart(8)} ms/${unit} ${String(v.n).padStart(6)}x  ${k}`);
}

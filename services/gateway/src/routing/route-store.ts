import { safeReadJsonb, type Db, type Queryable } from '@quire/db';
import type { Logger } from '@quire/server-kit';
import { StoredRouteSchema, type Route } from './route-config.js';

export interface RouteView {
  name: string;
  source: 'file' | 'database';
  route: Route;
  updated_at?: string;
  updated_by?: string;
}

interface DbRow {
  name: string;
  config: unknown;
  updated_by: string;
  updated_at: string;
}

const ROW_COLS = `name, config, updated_by, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS updated_at`;

/** Route writes inside the transaction that `RouteStore.transaction` runs. */
export interface RouteWriter {
  /** The route's view before (undefined: there was none) and after. */
  put(name: string, route: Route, by: string): Promise<{ before: RouteView | undefined; after: RouteView }>;
  /** The view removed; undefined (and nothing written) when there was none. */
  delete(name: string, by: string): Promise<RouteView | undefined>;
}

/**
 * Routes from the file, overridden by the database (the admin API). Resolution reads an in-memory
 * map: no query on the request path. Other gateway processes pick up admin changes within
 * `refreshMs` (the map is reloaded in the background once it is older than that).
 */
export class RouteStore {
  private effective = new Map<string, RouteView>();
  private loadedAt = 0;
  private loading: Promise<void> | undefined;
  private readonly listeners = new Set<(routes: ReadonlyMap<string, Route>) => void>();

  constructor(
    private readonly db: Db,
    private readonly fileRoutes: Map<string, Route>,
    private readonly logger: Logger,
    private readonly refreshMs = 5_000,
  ) {}

  /** The route of this name, or undefined; loads on first use, then refreshes in the background. */
  async get(name: string): Promise<Route | undefined> {
    if (this.loadedAt === 0) await this.reload();
    else if (performance.now() - this.loadedAt > this.refreshMs && !this.loading) {
      this.reload().catch((error) => this.logger.warn('route refresh failed; serving the last known routes', { err: String(error) }));
    }
    return this.effective.get(name)?.route;
  }

  async list(): Promise<RouteView[]> {
    await this.reload();
    return [...this.effective.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async view(name: string): Promise<RouteView | undefined> {
    await this.reload();
    return this.effective.get(name);
  }

  /**
   * Calls `listener` with the whole route set after every load (admin changes here, refreshes that
   * pick up other processes' changes), so per-route state kept elsewhere can follow deletions and
   * replaced targets. Returns the unsubscribe function.
   */
  onChange(listener: (routes: ReadonlyMap<string, Route>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async put(name: string, route: Route, by: string): Promise<RouteView> {
    return (await this.transaction((routes) => routes.put(name, route, by))).after;
  }

  /** Returns false when there was no such route. */
  async delete(name: string, by: string): Promise<boolean> {
    return (await this.transaction((routes) => routes.delete(name, by))) !== undefined;
  }

  /**
   * Runs `fn` in one transaction with route writes (`routes`) and whatever must commit with them (the
   * admin API's audit row, through `tx`). The routes in memory are reloaded only once it committed:
   * a change rolled back is never served, and the change listeners never see it.
   */
  async transaction<T>(fn: (routes: RouteWriter, tx: Queryable) => Promise<T>): Promise<T> {
    const result = await this.db.transaction((tx) => fn(this.writer(tx), tx));
    await this.reloadAfterWrite();
    return result;
  }

  private writer(tx: Queryable): RouteWriter {
    // One name's changes queue behind each other, so the view read as "before" is the one replaced
    // (a row lock alone cannot hold a route that has no row yet).
    const locked = async (name: string) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('quire:route:' || $1::text))`, [name]);
      return this.viewOf(name, (await tx.query<DbRow>(`SELECT ${ROW_COLS} FROM gateway_routes WHERE name = $1 FOR UPDATE`, [name])).rows[0]);
    };
    return {
      put: async (name, route, by) => {
        const before = await locked(name);
        const { rows } = await tx.query<DbRow>(
          `INSERT INTO gateway_routes (name, config, updated_by, updated_at) VALUES ($1, $2::jsonb, $3, now())
           ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, updated_by = EXCLUDED.updated_by, updated_at = now() RETURNING ${ROW_COLS}`,
          [name, JSON.stringify(route), by],
        );
        return { before, after: this.viewOf(name, rows[0])! };
      },
      // A route that also exists in the file is hidden by a tombstone, so "delete" means the route
      // is gone whichever source defined it.
      delete: async (name, by) => {
        const before = await locked(name);
        if (!before) return undefined;
        if (this.fileRoutes.has(name)) {
          await tx.query(
            `INSERT INTO gateway_routes (name, config, updated_by, updated_at) VALUES ($1, NULL, $2, now())
             ON CONFLICT (name) DO UPDATE SET config = NULL, updated_by = EXCLUDED.updated_by, updated_at = now()`,
            [name, by],
          );
        } else {
          await tx.query('DELETE FROM gateway_routes WHERE name = $1', [name]);
        }
        return before;
      },
    };
  }

  reload(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /**
   * A load that starts after the caller's write. Joining a background refresh already in flight could
   * serve rows read before the write: `put` would answer without its route, and a deleted route would
   * linger (with its breakers) until the next refresh.
   */
  private async reloadAfterWrite(): Promise<void> {
    // The background refresh reports its own failure; only its end matters here.
    await this.loading?.catch(() => undefined);
    await this.reload();
  }

  /** The route `name` given its database row (none: the file's), or undefined when there is none. */
  private viewOf(name: string, row: DbRow | undefined): RouteView | undefined {
    const file = this.fileRoutes.get(name);
    const fromFile: RouteView | undefined = file ? { name, source: 'file', route: file } : undefined;
    if (!row) return fromFile;
    if (row.config === null) return undefined; // a tombstone over the file's route
    const parsed = safeReadJsonb(StoredRouteSchema, row.config, `gateway_routes.config (route ${name})`);
    if (!parsed.success) {
      // Written through the validated admin API, so this means a schema change; keep serving the rest.
      this.logger.error('ignoring an invalid route in gateway_routes', { route: name, err: parsed.error.message });
      return fromFile;
    }
    return { name, source: 'database', route: parsed.data, updated_at: row.updated_at, updated_by: row.updated_by };
  }

  private async load(): Promise<void> {
    const { rows } = await this.db.query<DbRow>(`SELECT ${ROW_COLS} FROM gateway_routes`);
    const byName = new Map(rows.map((row) => [row.name, row]));
    const next = new Map<string, RouteView>();
    for (const name of new Set([...this.fileRoutes.keys(), ...byName.keys()])) {
      const view = this.viewOf(name, byName.get(name));
      if (view) next.set(name, view);
    }
    this.effective = next;
    this.loadedAt = performance.now();
    const routes = new Map([...next].map(([name, view]) => [name, view.route]));
    for (const listener of this.listeners) {
      try {
        listener(routes);
      } catch (error) {
        // A listener's bug must not stop routes from loading: the request path depends on them.
        this.logger.error('route change listener failed', { err: String(error) });
      }
    }
  }
}

import type { Db } from '@quire/db';
import type { Logger } from '@quire/server-kit';
import { RouteSchema, type Route } from './route-config.js';

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
    await this.db.query(
      `INSERT INTO gateway_routes (name, config, updated_by, updated_at) VALUES ($1, $2::jsonb, $3, now())
       ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [name, JSON.stringify(route), by],
    );
    await this.reloadAfterWrite();
    return this.effective.get(name)!;
  }

  /**
   * Removes a database route; a route that also exists in the file is hidden by a tombstone, so
   * "delete" means the route is gone whichever source defined it. Returns false when there was none.
   */
  async delete(name: string, by: string): Promise<boolean> {
    await this.reload();
    if (!this.effective.has(name)) return false;
    if (this.fileRoutes.has(name)) {
      await this.db.query(
        `INSERT INTO gateway_routes (name, config, updated_by, updated_at) VALUES ($1, NULL, $2, now())
         ON CONFLICT (name) DO UPDATE SET config = NULL, updated_by = EXCLUDED.updated_by, updated_at = now()`,
        [name, by],
      );
    } else {
      await this.db.query('DELETE FROM gateway_routes WHERE name = $1', [name]);
    }
    await this.reloadAfterWrite();
    return true;
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

  private async load(): Promise<void> {
    const { rows } = await this.db.query<DbRow>(
      `SELECT name, config, updated_by, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS updated_at FROM gateway_routes`,
    );
    const next = new Map<string, RouteView>();
    for (const [name, route] of this.fileRoutes) next.set(name, { name, source: 'file', route });
    for (const row of rows) {
      if (row.config === null) {
        next.delete(row.name);
        continue;
      }
      const config = typeof row.config === 'string' ? (JSON.parse(row.config) as unknown) : row.config;
      const parsed = RouteSchema.safeParse(config);
      if (!parsed.success) {
        // Written through the validated admin API, so this means a schema change; keep serving the rest.
        this.logger.error('ignoring an invalid route in gateway_routes', { route: row.name, err: parsed.error.message });
        continue;
      }
      next.set(row.name, { name: row.name, source: 'database', route: parsed.data, updated_at: row.updated_at, updated_by: row.updated_by });
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

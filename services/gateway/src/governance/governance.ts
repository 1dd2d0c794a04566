import type { Identity } from '@quire/contracts';
import type { Db } from '@quire/db';
import type { Logger } from '@quire/server-kit';
import { Ledger, type LedgerEntry } from '../ledger.js';
import type { BudgetProbe } from '../routing/budget-probe.js';
import type { RouteStore } from '../routing/route-store.js';
import { AuditLog } from './audit.js';
import { Authenticator } from './authenticator.js';
import { Budgets, toNanos, type Reservation, type UnpricedModels } from './budgets.js';
import type { CostOf, Estimate, ImageTokens, RerankBillingOf } from './cost-estimate.js';
import { MemoryCounters, RedisCounters, type Counters } from './counters.js';
import { hashSecret, newKey, parseKey, redactKey } from './key-format.js';
import { RateLimiter } from './rate-limits.js';
import { GovernanceStore } from './store.js';

export interface GovernanceOptions {
  db: Db;
  logger: Logger;
  costOf: CostOf;
  routes: RouteStore;
  /** Shared limits and budget counters across replicas; memory when absent. */
  redisUrl?: string | undefined;
  /** Key prefix in Redis: governanceKeyPrefix(QUIRE_REDIS_PREFIX), `quire:gov:` by default (tests use a unique one). */
  redisPrefix?: string;
  /** The bootstrap admin key (QUIRE_ADMIN_KEY); generated and printed once when absent and no key exists. */
  adminKey?: string | undefined;
  /** How long key, team and budget rows are cached (cross-process staleness bound). */
  cacheTtlMs?: number;
  /** Where a generated bootstrap key is printed (stdout by default, never the logger). */
  print?: (line: string) => void;
  /**
   * Output tokens a chat call without max_tokens reserves, and under a budget is capped at
   * (QUIRE_BUDGET_DEFAULT_MAX_OUTPUT_TOKENS; default DEFAULT_MAX_OUTPUT_TOKENS).
   */
  defaultMaxOutputTokens?: number;
  /**
   * Let callers under a budget call models without a price, which then count nothing against it
   * (QUIRE_BUDGETS_ALLOW_UNPRICED): for deployments whose unpriced models cost nothing. Off, such a
   * call is refused with `model_unpriced`.
   */
  allowUnpriced?: boolean;
  /**
   * Whether a model is served by a self-hosted provider (Ollama, TEI, vLLM, in-process `local`):
   * such a model without a price is free to budgets, not unpriced.
   */
  selfHosted?: (model: string) => boolean;
  /**
   * What a rerank target reports its usage in (its RerankingModelV1.billedIn): admission counts a
   * rerank call priced only when the price book can price that (a `searchUnit` price for search
   * units). Absent (tests), or undefined for a name it cannot build a reranker for: token prices.
   */
  rerankBillingOf?: RerankBillingOf;
  /** Worst-case tokens each image part reserves, by detail (QUIRE_BUDGET_IMAGE_TOKENS_LOW / _HIGH; default DEFAULT_IMAGE_TOKENS). */
  imageTokens?: ImageTokens;
}

/** Per-request state of a governed model call, found again from the ledger rows it writes. */
export interface CallState {
  reservation: Reservation | null;
  tokens: number;
  settled: boolean;
}

/**
 * Everything governance needs, built once per gateway: the store, key verification, budgets, rate
 * limits and the audit log, plus the ledger hook that tells budgets and token limits what each call
 * really cost.
 */
export class Governance implements BudgetProbe {
  readonly store: GovernanceStore;
  readonly auth: Authenticator;
  readonly counters: Counters;
  readonly budgets: Budgets;
  readonly rates: RateLimiter;
  readonly audit: AuditLog;
  /** Keyed by the per-request identity object that every ledger entry of the request carries. */
  readonly calls = new WeakMap<Identity, CallState>();
  /** Prices as budgets see them: the catalog's, and 0 for self-hosted models it does not list. */
  readonly costOf: CostOf;

  constructor(readonly options: GovernanceOptions) {
    const ttl = options.cacheTtlMs ?? 5000;
    this.store = new GovernanceStore(options.db);
    this.auth = new Authenticator(this.store, ttl);
    this.counters = options.redisUrl ? new RedisCounters(options.redisUrl, options.redisPrefix, options.logger) : new MemoryCounters();
    this.budgets = new Budgets(this.store, this.counters, options.logger, ttl);
    this.rates = new RateLimiter(this.counters);
    this.audit = new AuditLog(options.db, options.logger);
    const { costOf, selfHosted } = options;
    // One function for the process: estimates cache each model's rates per price function.
    this.costOf = selfHosted ? (name, usage) => costOf(name, usage) ?? (selfHosted(name) ? '0' : null) : costOf;
  }

  get routes(): RouteStore {
    return this.options.routes;
  }

  /**
   * What a call to `model` that may reach the `unpriced` models must answer for under a budget:
   * nothing when the deployment allows unpriced models, or for `kb/<collection>` (answered by
   * retrieval, whose own model calls come back here and are admitted one by one).
   */
  unpricedOf(model: string, cost: Pick<Estimate, 'unpriced' | 'needsSearchUnit' | 'onlySearchUnitMissing'>): UnpricedModels {
    if (this.options.allowUnpriced || model.startsWith('kb/')) return { model, unpriced: [] };
    return { model, unpriced: cost.unpriced, needsSearchUnit: cost.needsSearchUnit, onlySearchUnitMissing: cost.onlySearchUnitMissing };
  }

  /** The route planner's budget probe: the asking request's own reservation is not counted as used. */
  usedFraction(identity: Identity): Promise<number | null> {
    return this.budgets.usedFraction(identity, this.calls.get(identity)?.reservation);
  }

  /** A ledger that reports each row's cost to governance before writing it. */
  ledger(...args: ConstructorParameters<typeof Ledger>): Ledger {
    const observe = (entry: LedgerEntry) => this.observe(entry);
    return new (class GovernedLedger extends Ledger {
      override record(entry: LedgerEntry): Promise<void> {
        observe(entry);
        return super.record(entry);
      }
    })(...args);
  }

  private started: Promise<void> | undefined;
  /** The bootstrap, run once; requests wait for it (a fresh database gets its admin key first). */
  get ready(): Promise<void> {
    this.started ??= this.bootstrap();
    return this.started;
  }

  private observe(entry: LedgerEntry): void {
    const nanos = toNanos(entry.costUsd);
    const tokens = entry.usage.inputTokens + entry.usage.outputTokens;
    const state = this.calls.get(entry.attribution.identity);
    if (state && !state.settled) {
      state.tokens += tokens;
      if (state.reservation) state.reservation.actual += nanos;
      return;
    }
    // A row after the request settled (a stream aborted by its client), or a call nobody reserved for.
    void this.budgets.charge(entry.attribution.identity, nanos).catch((error: unknown) => this.options.logger.error('budget charge failed', { err: String(error) }));
  }

  /** On first start with no keys: the admin key from QUIRE_ADMIN_KEY, or a new one printed once. */
  async bootstrap(): Promise<void> {
    const given = this.options.adminKey;
    if (given) {
      const parsed = parseKey(given);
      if (typeof parsed === 'string') throw new Error(`QUIRE_ADMIN_KEY is not a valid Quire key (${parsed}); create one with a valid checksum, for example from a fresh start's printed key.`);
      const existing = await this.store.key(parsed.id);
      if (!existing) {
        await this.store.insertKey({ id: parsed.id, team_id: 'default', name: 'bootstrap admin (QUIRE_ADMIN_KEY)', role: 'admin', groups: [], allowed_models: null, rpm: null, tpm: null, secret_hash: hashSecret(parsed.secret), expires_at: null, created_by: 'bootstrap' })
          .catch(async (error: unknown) => {
            if (!(await this.store.key(parsed.id))) throw error; // another replica inserted it first
          });
        this.options.logger.info('bootstrap admin key installed from QUIRE_ADMIN_KEY', { key: redactKey(parsed.id) });
      }
      return;
    }
    const key = newKey();
    // Replicas starting together on an empty database: one lock, so exactly one creates (and prints) a key.
    const created = await this.store.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('quire:bootstrap-admin-key'))`);
      if ((await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys')).rows[0]!.n > 0) return false;
      await this.store.insertKey({ id: key.id, team_id: 'default', name: 'bootstrap admin', role: 'admin', groups: [], allowed_models: null, rpm: null, tpm: null, secret_hash: hashSecret(key.secret), expires_at: null, created_by: 'bootstrap' }, tx);
      return true;
    });
    if (!created) return;
    const print = this.options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
    print(`\nQuire created the first admin API key. It is shown this once; store it now:\n\n  ${key.key}\n\nUse it as "Authorization: Bearer <key>" (pnpm quire reads QUIRE_API_KEY).\n`);
  }

  async close(): Promise<void> {
    await this.audit.flush();
    await this.counters.close();
  }
}

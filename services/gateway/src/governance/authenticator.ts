import type { Identity } from '@quire/contracts';
import { AppError } from '@quire/server-kit';
import { hashSecret, isExpired, MAX_AUTH_HEADER, parseKey, sameHash } from './key-format.js';
import type { GovernanceStore, KeyRow, TeamRow } from './store.js';

/** What governance knows about a caller beyond the signed identity: allow lists and limits. */
export interface Policy {
  team: TeamRow | null;
  key: KeyRow | null;
}

export interface Authenticated {
  identity: Identity;
  policy: Policy;
}

const GROUP = /^[A-Za-z0-9_.:@-]{1,100}$/;
export const ON_BEHALF_OF_GROUPS = 'x-quire-on-behalf-of-groups';

/**
 * Verifies API keys and caches key and team rows for `ttlMs`. A change made through this process's
 * admin API invalidates its entry at once; other processes see it within `ttlMs` (the bound on how
 * long a key revoked elsewhere keeps working). The secret's hash is checked on every request, so a
 * cached row never lets a wrong secret in.
 */
export class Authenticator {
  private readonly keys = new Map<string, { row: KeyRow | null; at: number }>();
  private readonly teams = new Map<string, { row: TeamRow | null; at: number }>();
  /**
   * Verified Authorization headers, for as long as the rows they were checked against are cached:
   * a repeat call skips parsing, the checksum and the SHA-256. Entries hold the moment the key (or
   * its rotated-out secret) stops being valid, and any admin change here clears them all.
   */
  private readonly verified = new Map<string, { at: number; validUntil: number; result: Authenticated }>();
  /**
   * Bumped by every invalidation. A row read from the database before a revocation may arrive after
   * it: caching it then would undo the revocation for a whole TTL, so a read that straddles an
   * invalidation serves only its own request and is not cached.
   */
  private generation = 0;

  constructor(
    private readonly store: GovernanceStore,
    readonly ttlMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  invalidateKey(id: string): void {
    this.generation++;
    this.keys.delete(id);
    this.verified.clear();
  }

  invalidateTeam(id: string): void {
    this.generation++;
    this.teams.delete(id);
    this.verified.clear();
  }

  async keyRow(id: string): Promise<KeyRow | null> {
    const hit = this.keys.get(id);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.row;
    const generation = this.generation;
    const row = await this.store.key(id);
    if (generation !== this.generation) return row;
    if (this.keys.size > 50_000) this.keys.clear();
    this.keys.set(id, { row, at: this.now() });
    return row;
  }

  async teamRow(id: string): Promise<TeamRow | null> {
    const hit = this.teams.get(id);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.row;
    const generation = this.generation;
    const row = await this.store.team(id);
    if (generation !== this.generation) return row;
    if (this.teams.size > 10_000) this.teams.clear();
    this.teams.set(id, { row, at: this.now() });
    return row;
  }

  /** Syntax and checksum only: no I/O, so garbage never reaches the database. */
  static parseHeader(header: string | undefined): { id: string; secret: string } {
    if (header === undefined || header === '') throw new AppError('unauthenticated', 'Send an API key: "Authorization: Bearer qk_live_...".');
    if (header.length > MAX_AUTH_HEADER) throw new AppError('invalid_api_key', 'The Authorization header is too long to hold a Quire API key.');
    const m = /^Bearer (\S+)$/i.exec(header);
    if (!m) throw new AppError('invalid_api_key', 'The Authorization header must be "Bearer <key>".');
    const parsed = parseKey(m[1]!);
    if (parsed === 'malformed') throw new AppError('invalid_api_key', 'That is not a Quire API key (expected qk_live_<id>_<secret>_<check>).');
    if (parsed === 'checksum') throw new AppError('invalid_api_key', 'The API key fails its checksum: it was mistyped or truncated.');
    return parsed;
  }

  async authenticate(header: string | undefined, onBehalfOfGroups: string | undefined): Promise<Authenticated> {
    if (onBehalfOfGroups === undefined && header !== undefined) {
      const hit = this.verified.get(header);
      if (hit) {
        const now = this.now();
        if (now - hit.at < this.ttlMs && now < hit.validUntil) return hit.result;
        this.verified.delete(header);
      }
    }
    const { id, secret } = Authenticator.parseHeader(header);
    const generation = this.generation;
    const row = await this.keyRow(id);
    const hash = hashSecret(secret);
    const now = this.now();
    const current = row !== null && sameHash(hash, row.secret_hash);
    const previous =
      row !== null && !current && row.previous_secret_hash !== null && row.previous_valid_until !== null &&
      Date.parse(row.previous_valid_until) > now && sameHash(hash, row.previous_secret_hash);
    if (!row || (!current && !previous)) throw new AppError('invalid_api_key', 'Unknown API key.');
    if (row.revoked_at) throw new AppError('api_key_revoked', 'This API key was revoked.');
    if (isExpired(row, now)) throw new AppError('api_key_expired', 'This API key has expired.');
    let groups = row.groups;
    if (onBehalfOfGroups !== undefined) {
      // Only a trusted internal caller may speak for an end user's groups; anyone else would widen their own access.
      if (row.role !== 'service') throw new AppError('permission_denied', `Only service keys may send ${ON_BEHALF_OF_GROUPS}.`);
      const list = onBehalfOfGroups.split(',').map((g) => g.trim()).filter(Boolean);
      if (list.length > 100 || !list.every((g) => GROUP.test(g))) throw new AppError('invalid_request', `${ON_BEHALF_OF_GROUPS} is a comma-separated list of group names.`);
      groups = list;
    }
    const team = await this.teamRow(row.team_id);
    const result: Authenticated = { identity: { team_id: row.team_id, key_id: row.id, role: row.role, groups }, policy: { team, key: row } };
    if (onBehalfOfGroups === undefined && generation === this.generation) {
      const expires = row.expires_at ? Date.parse(row.expires_at) : Infinity;
      const validUntil = current ? expires : Math.min(expires, Date.parse(row.previous_valid_until!));
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(header!, { at: Math.min(this.keys.get(id)?.at ?? now, this.teams.get(row.team_id)?.at ?? now), validUntil, result });
    }
    return result;
  }

  /**
   * The policy for an identity the services signed (their model calls act for a team and key). The
   * services sign for a key long after it authenticated: background ingestion of what it uploaded,
   * index versions and benchmark runs it started. A key revoked or expired since then stops acting
   * at once: its calls are refused with `api_key_revoked` / `api_key_expired` (401, not retryable),
   * which the job records as it does a budget refusal; a person with a valid key can take the work
   * over (a document retry or a benchmark resume makes the caller its identity). Identities of no
   * key row (the services' own, e.g. `index-builder`) keep their team's policy.
   */
  async policyOf(identity: Identity): Promise<Policy> {
    const [team, key] = await Promise.all([this.teamRow(identity.team_id), this.keyRow(identity.key_id)]);
    const own = key && key.team_id === identity.team_id ? key : null;
    if (own?.revoked_at) {
      throw new AppError('api_key_revoked', `The API key this work acts for (${own.id}) was revoked; a caller with a valid key can retry or resume it.`);
    }
    if (own && isExpired(own, this.now())) {
      throw new AppError('api_key_expired', `The API key this work acts for (${own.id}) has expired; a caller with a valid key can retry or resume it.`);
    }
    return { team, key: own };
  }
}

/** An allow list entry matches exactly, or as a `provider/*` prefix; null means anything. */
export function listAllows(list: string[] | null | undefined, model: string): boolean {
  if (!list) return true;
  return list.some((entry) => entry === model || entry === '*' || (entry.endsWith('/*') && model.startsWith(entry.slice(0, -1))));
}

export function modelAllowed(policy: Policy, model: string): boolean {
  return listAllows(policy.team?.allowed_models, model) && listAllows(policy.key?.allowed_models, model);
}

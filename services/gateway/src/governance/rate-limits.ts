import type { Identity } from '@quire/contracts';
import { AppError } from '@quire/server-kit';
import type { Policy } from './authenticator.js';
import type { CounterCheck, Counters } from './counters.js';

const WINDOW_MS = 60_000;

interface Limit {
  kind: 'requests' | 'tokens';
  key: string;
  limit: number;
}

export interface Admission {
  headers: Record<string, string>;
  /** Token counters to correct once the real usage is known. */
  tokenKeys: string[];
  /** Request counters this admission took one from (for `refund`). */
  requestKeys: string[];
  estimatedTokens: number;
}

/**
 * Requests and tokens per minute, per key and per team, in fixed one-minute windows. Tokens are
 * taken at admission as an estimate (prompt + max output) and corrected to the real usage after the
 * call; a window that is already full refuses. Shared through Redis when configured.
 */
export class RateLimiter {
  constructor(
    private readonly counters: Counters,
    private readonly now: () => number = Date.now,
  ) {}

  private windowStart(now: number): number {
    return Math.floor(now / WINDOW_MS) * WINDOW_MS;
  }

  private limits(identity: Identity, policy: Policy, windowStart: number, kinds: readonly Limit['kind'][]): Limit[] {
    const out: Limit[] = [];
    const add = (kind: Limit['kind'], scope: string, id: string, limit: number | null | undefined) => {
      if (limit && kinds.includes(kind)) out.push({ kind, key: `rl:${scope}:${id}:${kind}:${windowStart}`, limit });
    };
    add('requests', 'key', identity.key_id, policy.key?.rpm);
    add('requests', 'team', identity.team_id, policy.team?.rpm);
    add('tokens', 'key', identity.key_id, policy.key?.tpm);
    add('tokens', 'team', identity.team_id, policy.team?.tpm);
    return out;
  }

  /**
   * Counts one request and `estimatedTokens`, or throws 429 carrying the same headers plus
   * `retry-after`; the headers are for the response either way. The model API passes its estimate;
   * the platform API (search, answer, upload) passes 0: its tokens arrive through the model calls the
   * services make for it, so it only waits while the token window is already full.
   */
  async admit(identity: Identity, policy: Policy, estimatedTokens: number): Promise<Admission> {
    const now = this.now();
    const windowStart = this.windowStart(now);
    const limits = this.limits(identity, policy, windowStart, ['requests', 'tokens']);
    if (limits.length === 0) return { headers: {}, tokenKeys: [], requestKeys: [], estimatedTokens };
    const checks: CounterCheck[] = limits.map((l) => ({
      key: l.key,
      amount: l.kind === 'requests' ? 1 : estimatedTokens,
      mode: l.kind === 'requests' ? 'fit' : 'below',
      limit: l.limit,
      ttlMs: WINDOW_MS + 5000,
    }));
    const result = await this.counters.tryAdd(checks);
    const resetS = Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000));
    const headers: Record<string, string> = {};
    for (const kind of ['requests', 'tokens'] as const) {
      // The tightest limit of this kind speaks for it in the headers.
      let best: { limit: number; remaining: number } | undefined;
      limits.forEach((l, i) => {
        if (l.kind !== kind) return;
        const remaining = Math.max(0, l.limit - result.values[i]!);
        if (!best || remaining < best.remaining) best = { limit: l.limit, remaining };
      });
      if (best) {
        headers[`x-ratelimit-limit-${kind}`] = String(best.limit);
        headers[`x-ratelimit-remaining-${kind}`] = String(best.remaining);
        headers[`x-ratelimit-reset-${kind}`] = `${resetS}s`;
      }
    }
    if (!result.ok) {
      const failed = limits[result.failed]!;
      headers['retry-after'] = String(resetS);
      const scope = failed.key.split(':')[1];
      throw new AppError('rate_limit_exceeded', `Rate limit of ${failed.limit} ${failed.kind} per minute for this ${scope} reached; retry in ${resetS} s.`, {
        details: { scope, kind: failed.kind, limit: failed.limit },
        headers,
      });
    }
    const keysOf = (kind: Limit['kind']) => limits.filter((l) => l.kind === kind).map((l) => l.key);
    return { headers, tokenKeys: keysOf('tokens'), requestKeys: keysOf('requests'), estimatedTokens };
  }

  /**
   * A model call a service makes for a request already admitted (an answer's query embedding and
   * generation): no request is counted and nothing is refused; `correctTokens` adds what it used.
   */
  meterTokens(identity: Identity, policy: Policy): Admission {
    const tokenKeys = this.limits(identity, policy, this.windowStart(this.now()), ['tokens']).map((l) => l.key);
    return { headers: {}, tokenKeys, requestKeys: [], estimatedTokens: 0 };
  }

  /**
   * Gives back what `admit` counted, for a request refused later in the same admission (a budget's
   * 402): a request that was never served must not use up the caller's requests or tokens.
   */
  async refund(admission: Admission): Promise<void> {
    const deltas = [
      ...admission.requestKeys.map((key) => ({ key, amount: -1, ttlMs: WINDOW_MS + 5000 })),
      ...(admission.estimatedTokens > 0 ? admission.tokenKeys.map((key) => ({ key, amount: -admission.estimatedTokens, ttlMs: WINDOW_MS + 5000 })) : []),
    ];
    if (deltas.length > 0) await this.counters.add(deltas);
  }

  async correctTokens(admission: Admission, actualTokens: number): Promise<void> {
    const delta = actualTokens - admission.estimatedTokens;
    if (admission.tokenKeys.length === 0 || delta === 0) return;
    await this.counters.add(admission.tokenKeys.map((key) => ({ key, amount: delta, ttlMs: WINDOW_MS + 5000 })));
  }
}

import type { UsageV1 } from '@quire/models';
import { emptyUsage, ProviderError, UnsupportedFunctionalityError } from '@quire/models';
import { AppError, retryAfterHeaders, type Logger } from '@quire/server-kit';
import type { Attribution, Ledger, LedgerEntry } from '../ledger.js';
import { errorCodeOf, providerErrorToAppError } from '../model-errors.js';
import { AttemptTimer } from './attempt-timer.js';
import type { RouteRetryPolicy } from './route-config.js';
import type { Capability, Plan, PlanStep } from './route-planner.js';
import { TargetPass, type HealthBook } from './target-health.js';

/** Everything one provider attempt needs to run and to be metered. */
export interface AttemptContext {
  model: string;
  provider: string;
  modelId: string;
  attempt: number;
  route: string | null;
  reason: string;
  fallbackFrom: string | undefined;
  timer: AttemptTimer;
  started: number;
  /** The attempt's hold on the route's circuit for this target; none for direct calls, which have no breaker. */
  health: TargetPass | undefined;
  plan: Plan;
  /** The call's input in tokens, estimated (only asked for when a failure may still be billed). */
  estimateInput?: () => number;
}

/** Provider failures that say something about the target (so: circuit breaker, next target). */
const TARGET_FAILURES = new Set([
  'provider_auth_failed', 'provider_permission_denied', 'provider_model_not_found', 'provider_quota_exceeded',
  'provider_not_configured', 'provider_bad_response',
]);

export function isTargetFailure(error: unknown): boolean {
  return ProviderError.is(error) && (error.retryable || TARGET_FAILURES.has(error.code));
}

/** Waits `ms`, or less when the client goes away (the caller looks at the signal afterwards). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

const clientGone = () => new DOMException('The client closed the request.', 'AbortError');

/** The provider's wait hint however long (ProviderError fills it from the capped one when only that was given). */
const retryHintMs = (error: unknown): number | undefined => (ProviderError.is(error) ? error.retryAfterHintMs : undefined);

/**
 * Whether a failed attempt may still be billed. A request that never reached a connection (refused,
 * no DNS, egress refused, a TLS failure, the connect deadline, a client gone before it was sent)
 * cannot be, nor one the provider answered with an error status. A deadline, a reset or a client
 * abort after the request went out may have left the provider generating (and billing) an answer
 * nobody read: that row is priced on the estimated input, with usage flagged unreported, as an
 * aborted stream is, so spend and budgets see a lower bound rather than zero.
 */
export function mayBeBilled(error: unknown, aborted: boolean, delivered: boolean): boolean {
  if (!delivered) return false;
  if (aborted) return true;
  return !ProviderError.is(error) || error.status === 0;
}

function failedUsage(deps: AttemptLoopDeps, ctx: AttemptContext, billed: boolean): { usage: UsageV1; costUsd: string | null } {
  if (!billed) return { usage: emptyUsage(false), costUsd: deps.costOf(ctx.model, emptyUsage(true)) };
  const usage = { ...emptyUsage(false), inputTokens: ctx.estimateInput?.() ?? 0 };
  return { usage, costUsd: deps.costOf(ctx.model, usage) };
}

export function backoffMs(policy: RouteRetryPolicy, tries: number, error: unknown): number {
  const hinted = retryHintMs(error);
  const exponential = policy.baseDelayMs * 2 ** (tries - 1);
  const jittered = exponential / 2 + Math.random() * (exponential / 2);
  return Math.min(policy.maxDelayMs, hinted ?? jittered);
}

export function splitModel(name: string): { provider: string; modelId: string } {
  const slash = name.indexOf('/');
  return { provider: name.slice(0, slash), modelId: name.slice(slash + 1) };
}

/** The attempt's ledger fields that every row shares, success or failure. */
export function ledgerBase(ctx: AttemptContext, attribution: Attribution, capability: Capability, stream: boolean) {
  return {
    attribution, capability, provider: ctx.provider, model: ctx.modelId, attempt: ctx.attempt, stream,
    ...(ctx.route !== null ? { route: ctx.route } : {}), routeReason: ctx.reason,
    ...(ctx.fallbackFrom ? { fallbackFrom: ctx.fallbackFrom } : {}),
  } satisfies Partial<LedgerEntry>;
}

/**
 * What `run` resolves to when its attempt made one provider call of several that the request needs
 * (an embeddings request split by the target's caps): that call succeeded and wrote its own ledger
 * row, and the next call goes to the same target as a new attempt, with a fresh timer and the full
 * retry budget. `run` keeps its own progress, so a retry or the next call never repeats a call that
 * succeeded.
 */
export const NEXT_CALL: unique symbol = Symbol('next provider call');

/**
 * Writes a ledger row without letting the write decide the request: the provider call happened (and
 * may be billed) whatever the database says, so a billed success stays a success and a failed
 * attempt still falls back. The Ledger keeps rows it could not write and logs them itself; what
 * escapes it anyway is logged here with the row's cost, so it is never lost silently.
 */
export async function meter(deps: Pick<AttemptLoopDeps, 'ledger' | 'logger'>, entry: LedgerEntry): Promise<void> {
  try {
    await deps.ledger.record(entry);
  } catch (error) {
    deps.logger.error('ledger row not recorded', {
      trace_id: entry.attribution.traceId, team_id: entry.attribution.identity.team_id, provider: entry.provider, model: entry.model,
      attempt: entry.attempt, status: entry.status, cost_usd: entry.costUsd, input_tokens: entry.usage.inputTokens, output_tokens: entry.usage.outputTokens,
      err: String(error),
    });
  }
}

export interface AttemptLoopDeps {
  ledger: Ledger;
  logger: Logger;
  health: HealthBook;
  costOf(name: string, usage: UsageV1): string | null;
}

/**
 * Every target of the plan was held back by an open circuit: nobody is asked, and the caller learns
 * when a circuit lets a probe through again.
 */
function circuitsOpen(route: string | null, waitMs: number, skipped: string[]): AppError {
  const headers = retryAfterHeaders(waitMs, 'service_unavailable');
  return new AppError('service_unavailable', `Every target of "${route}" is held back by its circuit breaker after repeated failures (${skipped.join(', ')}); retry in ${Math.ceil(waitMs / 1000)} s.`, {
    details: { retryable: true },
    ...(headers ? { headers } : {}),
  });
}

/**
 * Runs a plan: each target in order (circuits permitting), retries what is retryable with backoff
 * and jitter (honouring retry-after), and falls back to the next target on target failures. Every
 * failed attempt is a ledger row; `run` writes the row of the attempt that succeeds. An attempt is
 * one provider call: a request that needs several (see NEXT_CALL) numbers them on, one row each.
 * When every circuit is open the request fails fast (503 with Retry-After) rather than pile onto a
 * failing target; a half-open circuit lets exactly one request through as its probe.
 */
export async function runPlan<T>(
  deps: AttemptLoopDeps,
  plan: Plan,
  capability: Capability,
  stream: boolean,
  attribution: Attribution,
  clientSignal: AbortSignal | undefined,
  run: (ctx: AttemptContext) => Promise<T | typeof NEXT_CALL>,
): Promise<T> {
  const route = plan.route;
  const skipped: string[] = [];
  /** The soonest a target skipped for its open circuit may be tried again. */
  let reopensInMs: number | undefined;
  let attempt = 0;
  let fallbackFrom: string | undefined;
  let lastError: unknown;
  let unresolved: unknown;

  /** Asks the route's circuit for `model`: a pass to call it, or undefined (noted as skipped). Direct calls have no circuit. */
  const admit = (model: string): { pass: TargetPass | undefined } | undefined => {
    if (route === null) return { pass: undefined };
    const breaker = deps.health.breaker(route, model);
    const permit = breaker.acquire(plan.breaker);
    if (permit) return { pass: new TargetPass(breaker, permit, deps.health.latency(model), plan.breaker) };
    skipped.push(`${model}: circuit ${breaker.state(plan.breaker)}`);
    reopensInMs = Math.min(reopensInMs ?? Infinity, breaker.retryInMs(plan.breaker));
    return undefined;
  };

  const tryStep = async (step: PlanStep): Promise<{ done: true; value: T } | { done: false }> => {
    let admitted = admit(step.model);
    if (!admitted) return { done: false };
    const { provider, modelId } = splitModel(step.model);
    for (let tries = 1; tries <= plan.retry.maxAttempts; tries++) {
      const health = admitted.pass;
      // A client gone during a backoff pause, or between calls of a split request: no further attempt, and no row for one.
      if (clientSignal?.aborted) {
        health?.release();
        throw clientGone();
      }
      attempt++;
      const parts = [step.reason];
      if (plan.note) parts.push(plan.note);
      if (fallbackFrom) parts.push(`fallback after ${errorCodeOf(lastError)}`);
      if (skipped.length) parts.push(`skipped ${skipped.join(', ')}`);
      if (tries > 1) parts.push(`retry ${tries}/${plan.retry.maxAttempts}`);
      const timer = new AttemptTimer(step.timeouts, clientSignal);
      const ctx: AttemptContext = {
        model: step.model, provider, modelId, attempt, route, reason: parts.join('; '), fallbackFrom, timer,
        started: performance.now(), health, plan,
      };
      try {
        const value = await run(ctx);
        if (value === NEXT_CALL) {
          // The next call asks the circuit again: a slow success, or other requests' failures, may have opened it.
          admitted = admit(step.model);
          if (!admitted) {
            fallbackFrom = step.model;
            return { done: false };
          }
          tries = 0; // the call succeeded: the next one starts with the whole retry budget
          continue;
        }
        return { done: true, value };
      } catch (raw) {
        timer.clear();
        if (route !== null && ((raw as { name?: string } | null)?.name === 'RegistryError' || UnsupportedFunctionalityError.is(raw))) {
          // A route target whose provider is not configured here, or whose API cannot do what the
          // request asks (JSON mode on Anthropic): nothing was sent, so no ledger row and no mark
          // against its health; the next target may well do it. Retrying this one would not.
          attempt--;
          unresolved = raw;
          health?.release();
          skipped.push(`${step.model}: ${(raw as { code?: string }).code ?? 'unavailable'}`);
          return { done: false };
        }
        const error = timer.normalise(raw, provider);
        const aborted = timer.clientAborted;
        if (ProviderError.is(error) || aborted) {
          await meter(deps, {
            ...ledgerBase(ctx, attribution, capability, stream), status: aborted ? 'aborted' : 'error', errorCode: errorCodeOf(error),
            ...failedUsage(deps, ctx, mayBeBilled(error, aborted, timer.delivered)), latencyMs: performance.now() - ctx.started,
            ...(ProviderError.is(error) && error.requestId ? { providerRequestId: error.requestId } : {}),
          });
        }
        // What the caller is not told (the provider's words about the operator's key, organisation or limits), the operator reads here.
        if (ProviderError.is(error) && error.publicMessage !== error.message) {
          deps.logger.warn('provider refused the call', { trace_id: attribution.traceId, model: step.model, attempt, code: error.code, err: error.message });
        }
        if (aborted || !isTargetFailure(error)) {
          health?.release();
          throw providerErrorToAppError(error);
        }
        health?.failure();
        lastError = error;
        const retryable = ProviderError.is(error) && error.retryable;
        if (!retryable || tries >= plan.retry.maxAttempts) break;
        // A provider that asks for a longer wait than the route allows (an hour, say) is not asked
        // again early: it would refuse again. The next target is tried, or the caller gets the error
        // and the hint as Retry-After.
        const hinted = retryHintMs(error);
        if (hinted !== undefined && hinted > plan.retry.maxDelayMs) break;
        admitted = admit(step.model);
        if (!admitted) break;
        deps.logger.warn('retrying model call', { trace_id: attribution.traceId, model: step.model, attempt, code: errorCodeOf(error) });
        await pause(backoffMs(plan.retry, tries, error), clientSignal);
      }
    }
    fallbackFrom = step.model;
    return { done: false };
  };

  for (const step of plan.steps) {
    const out = await tryStep(step);
    if (out.done) return out.value;
    if (clientSignal?.aborted) break;
  }
  // Final for the client when more than one provider call was made for it (the gateway's retries or
  // fallbacks were spent) or when it is not worth retrying at all.
  if (lastError !== undefined) throw providerErrorToAppError(lastError, { final: attempt > 1 || !(ProviderError.is(lastError) && lastError.retryable) });
  if (reopensInMs !== undefined) throw circuitsOpen(route, reopensInMs, skipped.filter((note) => note.includes(': circuit ')));
  if (unresolved !== undefined) throw providerErrorToAppError(unresolved);
  throw new AppError('service_unavailable', `No target of "${route}" could be tried.`);
}

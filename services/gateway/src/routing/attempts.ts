import type { UsageV1 } from '@quire/models';
import { emptyUsage, ProviderError, UnsupportedFunctionalityError } from '@quire/models';
import { AppError, type Logger } from '@quire/server-kit';
import type { Attribution, Ledger, LedgerEntry } from '../ledger.js';
import { errorCodeOf, toAppError } from '../model-errors.js';
import { AttemptTimer } from './attempt-timer.js';
import type { RouteRetryPolicy } from './route-config.js';
import type { Capability, Plan, PlanStep } from './route-planner.js';
import type { HealthBook, TargetHealth } from './target-health.js';

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
  health: TargetHealth | undefined;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  const hinted = ProviderError.is(error) ? error.retryAfterMs : undefined;
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

export interface AttemptLoopDeps {
  ledger: Ledger;
  logger: Logger;
  health: HealthBook;
  costOf(name: string, usage: UsageV1): string | null;
}

/**
 * Runs a plan: each target in order (circuits permitting), retries what is retryable with backoff
 * and jitter (honouring retry-after), and falls back to the next target on target failures. Every
 * failed attempt is a ledger row; `run` writes the row of the attempt that succeeds. An attempt is
 * one provider call: a request that needs several (see NEXT_CALL) numbers them on, one row each.
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
  const gated = plan.route !== null;
  const skipped: string[] = [];
  let attempt = 0;
  let fallbackFrom: string | undefined;
  let lastError: unknown;
  let unresolved: unknown;

  const tryStep = async (step: PlanStep, forced: boolean): Promise<{ done: true; value: T } | { done: false }> => {
    const health = gated ? deps.health.of(step.model) : undefined;
    if (health && !forced && !health.acquire(plan.breaker)) {
      skipped.push(`${step.model}: circuit ${health.state(plan.breaker)}`);
      return { done: false };
    }
    const { provider, modelId } = splitModel(step.model);
    for (let tries = 1; tries <= plan.retry.maxAttempts; tries++) {
      attempt++;
      const parts = [forced ? `${step.reason}, forced: every circuit is open` : step.reason];
      if (plan.note) parts.push(plan.note);
      if (fallbackFrom) parts.push(`fallback after ${errorCodeOf(lastError)}`);
      if (skipped.length) parts.push(`skipped ${skipped.join(', ')}`);
      if (tries > 1) parts.push(`retry ${tries}/${plan.retry.maxAttempts}`);
      const timer = new AttemptTimer(step.timeouts, clientSignal);
      const ctx: AttemptContext = {
        model: step.model, provider, modelId, attempt, route: plan.route, reason: parts.join('; '), fallbackFrom, timer,
        started: performance.now(), health, plan,
      };
      try {
        const value = await run(ctx);
        if (value === NEXT_CALL) {
          // The next call asks the circuit again: a slow success, or other requests' failures, may have opened it.
          if (health && !forced && !health.acquire(plan.breaker)) {
            skipped.push(`${step.model}: circuit ${health.state(plan.breaker)}`);
            fallbackFrom = step.model;
            return { done: false };
          }
          tries = 0; // the call succeeded: the next one starts with the whole retry budget
          continue;
        }
        return { done: true, value };
      } catch (raw) {
        timer.clear();
        if (gated && ((raw as { name?: string } | null)?.name === 'RegistryError' || UnsupportedFunctionalityError.is(raw))) {
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
          await deps.ledger.record({
            ...ledgerBase(ctx, attribution, capability, stream), status: aborted ? 'aborted' : 'error', errorCode: errorCodeOf(error),
            ...failedUsage(deps, ctx, mayBeBilled(error, aborted, timer.delivered)), latencyMs: performance.now() - ctx.started,
            ...(ProviderError.is(error) && error.requestId ? { providerRequestId: error.requestId } : {}),
          });
        }
        if (aborted || !isTargetFailure(error)) {
          health?.release();
          throw toAppError(error);
        }
        if (health) health.failure(plan.breaker);
        lastError = error;
        const retryable = ProviderError.is(error) && error.retryable;
        if (!retryable || tries >= plan.retry.maxAttempts) break;
        const hinted = ProviderError.is(error) ? error.retryAfterMs : undefined;
        // A provider that asks for a longer wait than the route allows is not asked again early (it
        // would refuse again): the next target is tried, or the caller gets the error and the hint.
        if (hinted !== undefined && hinted > plan.retry.maxDelayMs) break;
        if (health && !health.acquire(plan.breaker)) break;
        deps.logger.warn('retrying model call', { trace_id: attribution.traceId, model: step.model, attempt, code: errorCodeOf(error) });
        await sleep(backoffMs(plan.retry, tries, error));
      }
    }
    fallbackFrom = step.model;
    return { done: false };
  };

  for (const step of plan.steps) {
    const out = await tryStep(step, false);
    if (out.done) return out.value;
    if (clientSignal?.aborted) break;
  }
  if (attempt === 0 && plan.steps.length > 0) {
    // Every circuit is open: try the first target anyway rather than fail without asking anyone.
    const out = await tryStep(plan.steps[0]!, true);
    if (out.done) return out.value;
  }
  if (lastError === undefined && unresolved !== undefined) throw toAppError(unresolved);
  if (lastError === undefined) throw new AppError('service_unavailable', `No target of "${plan.route}" could be tried.`);
  throw toAppError(lastError);
}

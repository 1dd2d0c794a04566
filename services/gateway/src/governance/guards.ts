import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Identity } from '@quire/contracts';
import { AppError } from '@quire/server-kit';
import type { CallerLocals } from '../caller-identity.js';
import { modelAllowed, type Policy } from './authenticator.js';
import { estimateRequest } from './cost-estimate.js';
import type { CallState, Governance } from './governance.js';
import type { Admission } from './rate-limits.js';

export interface GovernedLocals extends CallerLocals {
  /** Set for callers authenticated by API key; services' signed identities look theirs up. */
  policy?: Policy;
}

const MODEL_PATHS = new Set(['/v1/chat/completions', '/v1/embeddings', '/v1/rerank']);

/** Who is making a governed model call, as the identity step found them. */
export interface ModelCaller {
  traceId: string;
  identity: Identity;
  /** True for the services' signed identities: their calls count once, at the request that caused them. */
  internal: boolean;
  policy?: Policy | undefined;
}

/**
 * Before a model call goes out: the model allow lists (team, then key), the rate limits (API-key
 * callers) and the budget reservation of the worst-case cost. Rate-limit headers go out through
 * `setHeader` (a refusal's ride on its AppError). Returns the per-request identity that every ledger
 * row of the call must carry (the ledger hook finds this request's state by it, never by a
 * caller-chosen trace id), and `settle`, to run once when the response closes: the reservation is
 * settled to the real cost.
 */
export async function admitModelCall(
  gov: Governance,
  caller: ModelCaller,
  body: Record<string, unknown>,
  path: string,
  setHeader: (name: string, value: string) => void,
): Promise<{ identity: Identity; settle: () => void }> {
  const policy = caller.policy ?? (await gov.auth.policyOf(caller.identity));
  const model = body.model as string;
  if (!modelAllowed(policy, model)) {
    throw new AppError('model_not_allowed', `Your ${policy.key?.allowed_models ? 'key' : 'team'} may not call "${model}".`, { param: 'model', details: { model } });
  }
  const estimate = await estimateRequest(body, path, gov.costOf, gov.routes);
  let admission: Admission | null = null;
  if (!caller.internal) {
    // A refusal carries its headers (retry-after, x-ratelimit-*) on the AppError: the error answer sends them.
    admission = await gov.rates.admit(caller.identity, policy, estimate.inputTokens + estimate.outputTokens);
    for (const k in admission.headers) setHeader(k, admission.headers[k]!);
  }
  const reservation = await gov.budgets.reserve(caller.identity, estimate.micros);
  const identity: Identity = { ...caller.identity };
  const state: CallState = { reservation, tokens: 0, settled: false };
  gov.calls.set(identity, state);
  const settle = () => {
    if (state.settled) return;
    state.settled = true;
    if (!reservation && !admission) return;
    void Promise.all([reservation ? gov.budgets.settle(reservation) : undefined, admission ? gov.rates.correctTokens(admission, state.tokens) : undefined]).catch(
      (error: unknown) => gov.options.logger.error('budget settlement failed', { trace_id: caller.traceId, err: String(error) }),
    );
  };
  return { identity, settle };
}

/** Governed model paths that reach express (the model front hands over only unusual requests). */
export function modelGuard(gov: Governance): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST' || !MODEL_PATHS.has(req.path)) return next();
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || typeof body.model !== 'string') return next();
    const locals = res.locals as GovernedLocals;
    admitModelCall(gov, locals, body, req.path, (k, v) => res.setHeader(k, v)).then(({ identity, settle }) => {
      locals.identity = identity;
      res.once('close', settle);
      next();
    }, next);
  };
}

/** The audit row of a refused request (401, 402, 403, 429); other errors are not refusals. */
export function auditRefusal(gov: Governance, error: unknown, request: { method: string; path: string; traceId: string | undefined; identity: Identity | undefined; body: unknown }): void {
  if (!AppError.is(error) || ![401, 402, 403, 429].includes(error.status)) return;
  const body = request.body as Record<string, unknown> | undefined;
  gov.audit.refused({
    requestId: request.traceId,
    actorKeyId: request.identity?.key_id ?? null,
    actorTeamId: request.identity?.team_id ?? null,
    action: `${request.method} ${request.path}`.slice(0, 200),
    outcome: 'refused',
    code: error.code,
    details: { status: error.status, ...(typeof body?.model === 'string' ? { model: body.model } : {}), ...(error.details ?? {}) },
  });
}

const COLLECTION_QUERY = /^\/v1\/collections\/[^/]+\/(search|answer)$/;

/** Which roles may do what on the platform API; the services then scope every row to the team. */
export function platformGuard(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as GovernedLocals;
    if (locals.internal) return next();
    const path = req.path;
    const platform = path.startsWith('/v1/collections') || path.startsWith('/v1/documents') || path.startsWith('/v1/queries');
    if (!platform) return next();
    const role = locals.identity.role;
    const reads = req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && COLLECTION_QUERY.test(path)) || path.startsWith('/v1/queries');
    if (reads || role === 'admin' || role === 'knowledge-admin') return next();
    next(new AppError('collection_write_denied', `A ${role} key may search and ask, not change collections or documents; use a knowledge-admin key.`, { details: { role } }));
  };
}

export function isAdminIdentity(identity: Identity): boolean {
  return identity.role === 'admin';
}

/** Every refused request (401, 402, 403, 429) lands in the audit log, in the background. */
export function refusalAudit(gov: Governance): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as Partial<GovernedLocals>;
    auditRefusal(gov, error, { method: req.method, path: req.path, traceId: locals.traceId, identity: locals.identity, body: req.body });
    next(error);
  };
}

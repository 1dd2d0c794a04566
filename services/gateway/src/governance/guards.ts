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

/**
 * Before a model call goes out: the model allow lists (team, then key), the rate limits (API-key
 * callers; the services' calls count once, at the request that caused them) and the budget
 * reservation of the worst-case cost. The reservation is settled to the real cost, which the
 * ledger hook collects, when the response closes.
 */
export function modelGuard(gov: Governance): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST' || !MODEL_PATHS.has(req.path)) return next();
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || typeof body.model !== 'string') return next();
    const locals = res.locals as GovernedLocals;
    void (async () => {
      const policy = locals.policy ?? (await gov.auth.policyOf(locals.identity));
      const model = body.model as string;
      if (!modelAllowed(policy, model)) {
        throw new AppError('model_not_allowed', `Your ${policy.key?.allowed_models ? 'key' : 'team'} may not call "${model}".`, { param: 'model', details: { model } });
      }
      const estimate = await estimateRequest(body, req.path, gov.costOf, gov.routes);
      let admission: Admission | null = null;
      if (!locals.internal) {
        try {
          admission = await gov.rates.admit(locals.identity, policy, estimate.inputTokens + estimate.outputTokens);
        } catch (error) {
          const headers = (error as { headers?: Record<string, string> }).headers;
          if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
          throw error;
        }
        for (const [k, v] of Object.entries(admission.headers)) res.setHeader(k, v);
      }
      const reservation = await gov.budgets.reserve(locals.identity, estimate.micros);
      // A per-request identity object: every ledger row of this request carries it, so the ledger
      // hook finds this request's state without trusting a caller-chosen trace id.
      const identity: Identity = { ...locals.identity };
      locals.identity = identity;
      const state: CallState = { reservation, tokens: 0, settled: false };
      gov.calls.set(identity, state);
      res.once('close', () => {
        state.settled = true;
        void Promise.all([reservation ? gov.budgets.settle(reservation) : undefined, admission ? gov.rates.correctTokens(admission, state.tokens) : undefined]).catch(
          (error: unknown) => gov.options.logger.error('budget settlement failed', { trace_id: locals.traceId, err: String(error) }),
        );
      });
    })().then(() => next(), next);
  };
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
    if (AppError.is(error) && [401, 402, 403, 429].includes(error.status)) {
      const locals = res.locals as Partial<GovernedLocals>;
      const body = req.body as Record<string, unknown> | undefined;
      gov.audit.refused({
        requestId: locals.traceId,
        actorKeyId: locals.identity?.key_id ?? null,
        actorTeamId: locals.identity?.team_id ?? null,
        action: `${req.method} ${req.path}`.slice(0, 200),
        outcome: 'refused',
        code: error.code,
        details: { status: error.status, ...(typeof body?.model === 'string' ? { model: body.model } : {}), ...(error.details ?? {}) },
      });
    }
    next(error);
  };
}

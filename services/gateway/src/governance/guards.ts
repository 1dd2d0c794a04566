import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { HEADERS, type Identity } from '@quire/contracts';
import { AppError } from '@quire/server-kit';
import type { CallerLocals } from '../caller-identity.js';
import type { UpstreamError } from '../platform-proxy.js';
import { modelAllowed, type Policy } from './authenticator.js';
import type { Reservation } from './budgets.js';
import { estimateRequest } from './cost-estimate.js';
import type { CallState, Governance } from './governance.js';
import type { Admission } from './rate-limits.js';

export interface GovernedLocals extends CallerLocals {
  /** Set for callers authenticated by API key; services' signed identities look theirs up. */
  policy?: Policy;
}

const MODEL_PATHS = new Set(['/v1/chat/completions', '/v1/embeddings', '/v1/rerank', '/v1/responses']);

/** Who is making a governed model call, as the identity step found them. */
export interface ModelCaller {
  traceId: string;
  identity: Identity;
  /** True for the services' signed identities: their tokens count, their requests were counted at the request that caused them. */
  internal: boolean;
  policy?: Policy | undefined;
  /** The services' `x-quire-purpose` (`ingest-embed`, `query-embed`, ...): why an internal call is made. */
  purpose?: string | undefined;
}

/**
 * Before a model call goes out: the model allow lists (team, then key), the rate limits (requests and
 * tokens for API-key callers, tokens only for the services' calls) and the budget reservation of the
 * worst-case cost. Rate-limit headers go out through `setHeader` (a refusal's ride on its AppError).
 * Returns the per-request identity that every ledger row of the call must carry (the ledger hook
 * finds this request's state by it, never by a caller-chosen trace id), and `settle`, to run once
 * when the response closes (`settleOnClose`): the reservation is settled to the real cost and the
 * tokens to the real use. A refusal after the rate limits counted the request gives the count back.
 *
 * A chat call under a budget that sets no max_tokens gets `max_completion_tokens` set to the output
 * the reservation assumed (`defaultMaxOutputTokens`, 4,096 unless set; reasoning models count their
 * thinking in it, so deployments that route to them raise it): without a cap the provider's own default (or
 * none) decides, and one long answer could spend past a hard limit. Callers without a budget, and
 * models that cost nothing, are sent as they asked.
 *
 * Under a budget, a model without a price (or a route that can reach one) is refused with
 * `model_unpriced`: its cost could not be counted, so it would spend past the limit unseen. "A price"
 * is one for the usage the call will report: a reranker billed in search units needs a `searchUnit`
 * price (see estimateRequest). The deployment allows such calls with `allowUnpriced` (they then
 * count nothing).
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
  const estimate = await estimateRequest(body, path, gov.costOf, gov.routes, {
    defaultMaxOutputTokens: gov.options.defaultMaxOutputTokens,
    imageTokens: gov.options.imageTokens,
    rerankBillingOf: gov.options.rerankBillingOf,
  });
  let admission: Admission;
  if (caller.internal) {
    // A service's call for a request already admitted at the door (platformRateLimit): its tokens
    // count against the caller's tpm, but it is not another request and is never refused halfway.
    // Background indexing is not: a large upload would otherwise fill the uploader's token window
    // for as long as it indexes, and refuse their searches and chats (its cost still meets budgets).
    admission = caller.purpose === 'ingest-embed' ? { headers: {}, tokenKeys: [], requestKeys: [], estimatedTokens: 0 } : gov.rates.meterTokens(caller.identity, policy);
  } else {
    // A refusal carries its headers (retry-after, x-ratelimit-*) on the AppError: the error answer sends them.
    admission = await gov.rates.admit(caller.identity, policy, estimate.inputTokens + estimate.outputTokens);
  }
  let reservation: Reservation | null;
  try {
    reservation = await gov.budgets.reserve(caller.identity, estimate.nanos, gov.unpricedOf(model, estimate));
  } catch (error) {
    await gov.rates.refund(admission).catch((refundError: unknown) =>
      gov.options.logger.error('rate limit refund failed', { trace_id: caller.traceId, err: String(refundError) }),
    );
    throw error;
  }
  // Only now: the counts in them hold for a request that is served.
  for (const k in admission.headers) setHeader(k, admission.headers[k]!);
  if (reservation && estimate.nanos > 0 && path.endsWith('/chat/completions') && body.max_tokens == null && body.max_completion_tokens == null) {
    body.max_completion_tokens = estimate.outputTokens;
  }
  if (reservation && estimate.nanos > 0 && path.endsWith('/responses') && body.max_output_tokens == null) body.max_output_tokens = estimate.outputTokens;
  const identity: Identity = { ...caller.identity };
  const state: CallState = { reservation, tokens: 0, settled: false };
  gov.calls.set(identity, state);
  const settle = () => {
    if (state.settled) return;
    state.settled = true;
    if (!reservation && admission.tokenKeys.length === 0) return;
    void Promise.all([reservation ? gov.budgets.settle(reservation) : undefined, gov.rates.correctTokens(admission, state.tokens)]).catch(
      (error: unknown) => gov.options.logger.error('budget settlement failed', { trace_id: caller.traceId, err: String(error) }),
    );
  };
  return { identity, settle };
}

/**
 * Runs `settle` when the response closes. Admission awaits (keys, budgets, Redis), and a client may
 * go away meanwhile: its 'close' has then already fired, so `settle` runs at once and the answer is
 * false: the call must not go out, since nobody is there to receive it and its reservation is gone.
 */
export function settleOnClose(res: ServerResponse, settle: () => void): boolean {
  if (res.destroyed || res.writableFinished) {
    settle();
    return false;
  }
  res.once('close', settle);
  return true;
}

/** Governed model paths that reach express (the model front hands over only unusual requests). */
export function modelGuard(gov: Governance): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST' || !MODEL_PATHS.has(req.path)) return next();
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || typeof body.model !== 'string') return next();
    const locals = res.locals as GovernedLocals;
    const caller: ModelCaller = { ...locals, purpose: req.get(HEADERS.purpose) };
    admitModelCall(gov, caller, body, req.path, (k, v) => res.setHeader(k, v)).then(({ identity, settle }) => {
      locals.identity = identity;
      if (settleOnClose(res, settle)) next();
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

/**
 * The key's and team's requests per minute cover the platform API too, in the same window as the
 * model API (same counters, same 429 body, `retry-after` and `x-ratelimit-*` headers). Each request
 * a caller sends counts once: the model calls that retrieval and ingestion make for it come back
 * signed (internal) and add only their tokens. A request is also refused while the token window is
 * full, since the tokens it would spend arrive later. GET and HEAD are not counted: they read state
 * (a document's status, an index build's progress, the SSE progress streams, lists) without model
 * calls, and a UI polling progress once a second would otherwise use 60 requests a minute of a
 * limit that is meant to bound searches, answers and uploads.
 */
export function platformRateLimit(gov: Governance): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as GovernedLocals;
    if (locals.internal || !locals.policy || req.method === 'GET' || req.method === 'HEAD') return next();
    gov.rates.admit(locals.identity, locals.policy, 0).then((admission) => {
      for (const k in admission.headers) res.setHeader(k, admission.headers[k]!);
      next();
    }, next);
  };
}

/** 404 codes that the services answer for another team's resources as for missing ones. */
const SCOPED_NOT_FOUND = new Set(['collection_not_found', 'document_not_found', 'query_not_found']);
const PLATFORM_TARGET = /^\/v1\/(collections|documents|queries)\/([^/]+)/;
const TARGET_TYPE: Record<string, string> = { collections: 'collection', documents: 'document', queries: 'query' };

/** Whether a service's error answer is a refusal for the audit log, as the gateway's own 401/402/403/429 are. */
export function isUpstreamRefusal(status: number, code: string | null): boolean {
  if (status === 401 || status === 402 || status === 403) return true;
  // A provider's own 429 (provider_rate_limited) is not a refusal of the caller; ours is.
  if (status === 429) return code === 'rate_limit_exceeded';
  // Retrieval and ingestion answer another team's collection, document or query as missing: the
  // gateway cannot tell that from a wrong id, so both are audited (probing ids is worth seeing).
  return status === 404 && code !== null && SCOPED_NOT_FOUND.has(code);
}

/**
 * Refusals raised inside retrieval and ingestion (no access to a collection, a role or model not
 * allowed, a budget) in the audit log, like the gateway's own: the caller's key and team, the route,
 * the service's code and the target collection, document or query.
 */
export function upstreamRefusalAudit(gov: Governance) {
  return (req: Request, res: Response, error: UpstreamError): void => {
    if (!isUpstreamRefusal(error.status, error.code)) return;
    const locals = res.locals as Partial<GovernedLocals>;
    const target = PLATFORM_TARGET.exec(req.path);
    gov.audit.refused({
      requestId: locals.traceId,
      actorKeyId: locals.identity?.key_id ?? null,
      actorTeamId: locals.identity?.team_id ?? null,
      action: `${req.method} ${req.path}`.slice(0, 200),
      outcome: 'refused',
      code: error.code,
      targetType: target ? TARGET_TYPE[target[1]!]! : null,
      targetId: target ? target[2]!.slice(0, 200) : null,
      details: { status: error.status, service: error.service },
    });
  };
}

/** Every refused request (401, 402, 403, 429) lands in the audit log, in the background. */
export function refusalAudit(gov: Governance): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as Partial<GovernedLocals>;
    auditRefusal(gov, error, { method: req.method, path: req.path, traceId: locals.traceId, identity: locals.identity, body: req.body });
    next(error);
  };
}

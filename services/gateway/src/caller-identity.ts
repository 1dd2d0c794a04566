import { randomUUID } from 'node:crypto';
import type { Request, Response, NextFunction } from 'express';
import { HEADERS, isOrgAdmin, isUuid, PurposeSchema, type Identity, type Purpose } from '@quire/contracts';
import { AppError, verifyIdentity } from '@quire/server-kit';
import { ON_BEHALF_OF_GROUPS } from './governance/authenticator.js';
import type { Governance } from './governance/governance.js';
import type { Attribution } from './ledger.js';

export interface CallerLocals {
  traceId: string;
  identity: Identity;
  /** True when the identity came from a service's signed token. */
  internal: boolean;
}

/**
 * Who is calling. The platform services call back with the signed identity they were given, so
 * their model calls are charged to the team they act for. Everyone else needs an API key
 * (`Authorization: Bearer qk_live_...`): no key, a malformed, revoked or expired one is 401.
 * `/healthz` and `/readyz` are mounted before this and stay open.
 */
export function callerIdentity(internalSecret: string, governance: Governance) {
  return (req: Request, res: Response, next: NextFunction) => {
    const token = req.header(HEADERS.identity);
    if (token) {
      try {
        res.locals.identity = verifyIdentity(token, internalSecret);
        res.locals.internal = true;
        next();
      } catch (error) {
        next(error);
      }
      return;
    }
    res.locals.internal = false;
    governance.ready.then(() => governance.auth.authenticate(req.header('authorization'), req.header(ON_BEHALF_OF_GROUPS))).then(
      ({ identity, policy }) => {
        res.locals.identity = identity;
        res.locals.policy = policy;
        next();
      },
      next,
    );
  };
}

/** Attribution headers are honoured only from the services (signed identity); others are `api` calls. */
export function attributionOf(req: Request, res: Response): Attribution {
  return attributionFrom(res.locals as CallerLocals, (name) => req.header(name));
}

/** The same, from any header source (the model front reads node:http's lower-cased headers). */
export function attributionFrom(caller: CallerLocals, header: (name: string) => string | undefined): Attribution {
  const base: Attribution = { traceId: caller.traceId, identity: caller.identity, purpose: 'api' };
  // Called once per model API request: its attempts, retries and fallbacks share this id.
  if (!caller.internal) return { ...base, requestId: randomUUID() };
  const purpose = PurposeSchema.safeParse(header(HEADERS.purpose));
  const uuidHeader = (name: string) => {
    const value = header(name);
    if (value === undefined) return undefined;
    if (!isUuid(value)) throw new AppError('invalid_request', `Header ${name} must be a UUID.`);
    return value;
  };
  return {
    ...base,
    purpose: purpose.success ? (purpose.data as Purpose) : 'api',
    collectionId: uuidHeader(HEADERS.collectionId),
    queryId: uuidHeader(HEADERS.queryId),
    documentId: uuidHeader(HEADERS.documentId),
  };
}

/** Admin-only endpoints (route changes, every team's usage); the rule itself is `isOrgAdmin`. */
export function requireAdmin(res: Response): Identity {
  const identity = (res.locals as CallerLocals).identity;
  if (!isOrgAdmin(identity)) throw new AppError('permission_denied', 'This endpoint is for administrators only.');
  return identity;
}

import type { Router } from 'express';
import { z } from 'zod';
import { emptyUsage } from '@quire/models';
import { AppError, handle, parseWith, exactRouter } from '@quire/server-kit';
import { fromNanos, toNanos } from './budgets.js';
import { worstCase } from './cost-estimate.js';
import type { Governance } from './governance.js';
import type { GovernedLocals } from './guards.js';

const Decimal = z.union([z.string().regex(/^\d{1,12}(\.\d{1,12})?$/), z.number().nonnegative().transform((n) => n.toFixed(12))]);
const BudgetCheckSchema = z.union([
  z.object({ estimated_usd: Decimal }).strict(),
  z.object({ model: z.string().min(1).max(200), tokens: z.number().int().min(0).max(1e12) }).strict(),
]);

/**
 * `POST /v1/internal/budget-check`: may work estimated up front (an upload's embeddings) start for
 * the identity the service acts for? 200 when it fits what is left of every team and key budget,
 * 402 `budget_exceeded` otherwise; nothing is reserved. `{model, tokens}` is priced like a call
 * (a route at its dearest target), and refused like one (403 `model_unpriced`) when a budget applies
 * and the model has no price; 401 `api_key_revoked` / `api_key_expired` when the identity's key was
 * revoked or has expired (see Authenticator.policyOf). Signed service identities only: API keys get 403.
 */
export function budgetCheckRouter(gov: Governance): Router {
  const router = exactRouter();
  router.post(
    '/v1/internal/budget-check',
    handle(async (req, res) => {
      const locals = res.locals as GovernedLocals;
      if (!locals.internal) throw new AppError('permission_denied', 'This endpoint is for Quire services only.');
      const body = parseWith(BudgetCheckSchema, req.body);
      // Work for a key revoked or expired since it was started is refused as its model calls are.
      await gov.auth.policyOf(locals.identity);
      let nanos: number;
      if ('estimated_usd' in body) {
        nanos = toNanos(body.estimated_usd);
        await gov.budgets.check(locals.identity, nanos);
      } else {
        const cost = await worstCase(body.model, { ...emptyUsage(), inputTokens: body.tokens }, gov.costOf, gov.routes);
        nanos = cost.nanos;
        await gov.budgets.check(locals.identity, nanos, gov.unpricedOf(body.model, cost));
      }
      res.json({ object: 'budget_check', ok: true, estimated_usd: fromNanos(nanos) });
    }),
  );
  return router;
}

import { z } from 'zod';

/**
 * Who a request acts for, as the gateway established it. Forwarded to the services in a signed
 * header (`x-quire-identity`), never taken from a caller directly.
 */
export const IdentitySchema = z.object({
  team_id: z.string().min(1),
  key_id: z.string().min(1),
  role: z.enum(['admin', 'knowledge-admin', 'member', 'service']),
  groups: z.array(z.string()).default([]),
});
export type Identity = z.infer<typeof IdentitySchema>;

/**
 * An organisation admin: role `admin` (admin keys belong to the organisation, team `default`). It acts
 * on every team's collections and settings: the admin API, retrieval's and ingestion's owner routes.
 */
export function isOrgAdmin(identity: Pick<Identity, 'role'>): boolean {
  return identity.role === 'admin';
}

/** Why a service calls a model: the ledger and budgets attribute cost by it. */
export const PurposeSchema = z.enum(['ingest-embed', 'query-embed', 'rerank', 'generate', 'rewrite', 'judge', 'api']);
export type Purpose = z.infer<typeof PurposeSchema>;

export const HEADERS = {
  identity: 'x-quire-identity',
  traceId: 'x-request-id',
  purpose: 'x-quire-purpose',
  collectionId: 'x-quire-collection-id',
  queryId: 'x-quire-query-id',
  documentId: 'x-quire-document-id',
} as const;

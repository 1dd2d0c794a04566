import type { Response } from 'express';
import { z } from 'zod';
import type { CallerLocals } from '../caller-identity.js';
import type { AuditEntry } from '../governance/audit.js';
import { isExpired, redactKey } from '../governance/key-format.js';
import type { KeyRow } from '../governance/store.js';

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const ModelList = z.array(z.string().min(1).max(200)).max(500).nullable();
export const PerMinute = z.number().int().positive().max(100_000_000).nullable();

/** A key as shown to admins: never the secret or its hash. */
export function keyView(row: KeyRow) {
  const status = row.revoked_at ? 'revoked' : isExpired(row, Date.now()) ? 'expired' : 'active';
  return {
    id: row.id, object: 'api_key', prefix: redactKey(row.id), team_id: row.team_id, name: row.name, role: row.role, groups: row.groups,
    allowed_models: row.allowed_models, rpm: row.rpm, tpm: row.tpm, status, expires_at: row.expires_at, revoked_at: row.revoked_at,
    previous_valid_until: row.previous_valid_until, created_by: row.created_by, created_at: row.created_at, updated_at: row.updated_at,
  };
}

/** An audit entry for an administrative change made by this response's caller. */
export function change(res: Response, action: string, targetType: string, targetId: string, before: unknown, after: unknown): AuditEntry {
  const locals = res.locals as CallerLocals;
  return { requestId: locals.traceId, actorKeyId: locals.identity.key_id, actorTeamId: locals.identity.team_id, action, outcome: 'ok', targetType, targetId, before, after };
}

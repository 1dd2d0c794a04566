import express, { type Router } from 'express';
import { z } from 'zod';
import { AppError, handle, paramsOf, parseStrict, parseWith, exactRouter } from '@quire/server-kit';
import { requireAdmin } from '../caller-identity.js';
import { listAllows } from '../governance/authenticator.js';
import type { Governance } from '../governance/governance.js';
import { formatKey, hashSecret, isExpired, newKey } from '../governance/key-format.js';
import { decodeCursor, type TeamRow } from '../governance/store.js';
import { change, keyView, ModelList, PageQuery, PerMinute } from './admin-common.js';

const TeamId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, _ and -');
const CreateTeam = z.object({ id: TeamId, name: z.string().min(1).max(200), allowed_models: ModelList.default(null), rpm: PerMinute.default(null), tpm: PerMinute.default(null) }).strict();
const PatchTeam = z.object({ name: z.string().min(1).max(200).optional(), allowed_models: ModelList.optional(), rpm: PerMinute.optional(), tpm: PerMinute.optional() }).strict();
const Group = z.string().regex(/^[A-Za-z0-9_.:@-]{1,100}$/);
const Role = z.enum(['admin', 'knowledge-admin', 'member', 'service']);
const Instant = z.string().datetime({ offset: true });
const CreateKey = z.object({
  team_id: TeamId, name: z.string().min(1).max(200), role: Role, groups: z.array(Group).max(100).default([]),
  allowed_models: ModelList.default(null), rpm: PerMinute.default(null), tpm: PerMinute.default(null), expires_at: Instant.nullable().default(null),
}).strict();
const PatchKey = z.object({
  name: z.string().min(1).max(200).optional(), groups: z.array(Group).max(100).optional(), allowed_models: ModelList.optional(),
  rpm: PerMinute.optional(), tpm: PerMinute.optional(), expires_at: Instant.nullable().optional(),
}).strict();
const Rotate = z.object({ grace_seconds: z.number().int().min(0).max(30 * 86_400).default(0) }).strict();
/** `team` and `team_id` (the field's name on a key) both filter by team; given both, they must agree. */
const KeysQuery = PageQuery.extend({ team: TeamId.optional(), team_id: TeamId.optional() }).superRefine((q, issue) => {
  if (q.team !== undefined && q.team_id !== undefined && q.team !== q.team_id) issue.addIssue({ code: 'custom', path: ['team_id'], message: 'team and team_id name different teams' });
});
/** A team's or key's id as the path names it: looked up as given (an id no row has is a 404). */
const IdParams = z.object({ id: z.string().min(1) });
const teamNotFound = (id: string) => new AppError('team_not_found', `No team "${id}".`);
const keyNotFound = (id: string) => new AppError('key_not_found', `No API key "${id}".`);

/** A key may only narrow its team's allow list, never widen it. */
function assertNarrows(team: TeamRow, list: string[] | null): void {
  if (!team.allowed_models) return;
  if (list === null) return; // inherits the team's
  // "*" under a team that allows "*" narrows nothing, but widens nothing either.
  if (team.allowed_models.includes('*')) return;
  const wider = list.filter((m) => !listAllows(team.allowed_models, m.endsWith('/*') ? m.slice(0, -1) : m) || m === '*');
  if (wider.length > 0) throw new AppError('invalid_request', `A key can only narrow its team's models; not allowed for team "${team.id}": ${wider.join(', ')}.`, { param: 'allowed_models' });
}

/** A new key's expiry must be ahead: a key created expired would answer 401 from its first call. */
function assertFuture(expiresAt: string | null): void {
  if (isExpired({ expires_at: expiresAt }, Date.now())) throw new AppError('invalid_request', `expires_at ${expiresAt} is not in the future.`, { param: 'expires_at' });
}

/** `/v1/teams` and `/v1/keys`: admins only; every change is audited with its before and after. */
export function teamsKeysRouter(gov: Governance): Router {
  const router = exactRouter();
  const { store, auth, audit } = gov;
  router.use(['/v1/teams', '/v1/keys'], express.json({ limit: '1mb' }), (_req, res, next) => {
    requireAdmin(res);
    next();
  });

  router.post('/v1/teams', handle(async (req, res) => {
    const body = parseWith(CreateTeam, req.body);
    // The change and its audit row commit together.
    const team = await store.db.transaction(async (tx) => {
      const team = await store.insertTeam(body, tx);
      if (!team) throw new AppError('conflict', `Team "${body.id}" already exists.`, { param: 'id' });
      await audit.write(change(res, 'team.create', 'team', team.id, null, team), tx);
      return team;
    });
    res.status(201).json({ object: 'team', ...team });
  }));
  router.get('/v1/teams', handle(async (req, res) => {
    const q = parseStrict(PageQuery, req.query, 'query');
    const page = await store.teams(q.limit, decodeCursor(q.cursor));
    res.json({ object: 'list', data: page.data.map((t) => ({ object: 'team', ...t })), next_cursor: page.next_cursor });
  }));
  router.get('/v1/teams/:id', handle(async (req, res) => {
    const { id } = paramsOf(req, IdParams, { id: teamNotFound });
    const team = await store.team(id);
    if (!team) throw teamNotFound(id);
    res.json({ object: 'team', ...team });
  }));
  router.patch('/v1/teams/:id', handle(async (req, res) => {
    const patch = parseWith(PatchTeam, req.body);
    const { id } = paramsOf(req, IdParams, { id: teamNotFound });
    const { before, after } = await store.db.transaction(async (tx) => {
      const before = await store.team(id, tx, true);
      if (!before) throw teamNotFound(id);
      const after = (await store.updateTeam(before.id, patch, tx))!;
      await audit.write(change(res, 'team.update', 'team', before.id, before, after), tx);
      return { before, after };
    });
    auth.invalidateTeam(before.id);
    res.json({ object: 'team', ...after });
  }));

  router.post('/v1/keys', handle(async (req, res) => {
    const body = parseWith(CreateKey, req.body);
    const team = await store.team(body.team_id);
    if (!team) throw new AppError('team_not_found', `No team "${body.team_id}".`, { param: 'team_id' });
    if (body.role === 'admin' && team.id !== 'default') throw new AppError('invalid_request', 'Admin keys belong to the organisation (team "default").', { param: 'role' });
    assertNarrows(team, body.allowed_models);
    assertFuture(body.expires_at);
    const generated = newKey();
    const row = await store.db.transaction(async (tx) => {
      const row = await store.insertKey({ ...body, id: generated.id, secret_hash: hashSecret(generated.secret), created_by: requireAdmin(res).key_id }, tx);
      await audit.write(change(res, 'key.create', 'api_key', row.id, null, keyView(row)), tx);
      return row;
    });
    auth.invalidateKey(row.id);
    // The only time the secret is ever shown.
    res.status(201).json({ ...keyView(row), key: generated.key });
  }));
  router.get('/v1/keys', handle(async (req, res) => {
    const q = parseStrict(KeysQuery, req.query, 'query');
    const page = await store.keys(q.team ?? q.team_id ?? null, q.limit, decodeCursor(q.cursor));
    res.json({ object: 'list', data: page.data.map(keyView), next_cursor: page.next_cursor });
  }));
  router.get('/v1/keys/:id', handle(async (req, res) => {
    const { id } = paramsOf(req, IdParams, { id: keyNotFound });
    const row = await store.key(id);
    if (!row) throw keyNotFound(id);
    res.json(keyView(row));
  }));
  router.patch('/v1/keys/:id', handle(async (req, res) => {
    const patch = parseWith(PatchKey, req.body);
    const { id } = paramsOf(req, IdParams, { id: keyNotFound });
    const { before, after } = await store.withKeyLocked(id, async (before, tx) => {
      if (!before) throw keyNotFound(id);
      if (patch.allowed_models !== undefined) assertNarrows((await store.team(before.team_id, tx))!, patch.allowed_models);
      const after = (await store.updateKey(before.id, patch, tx))!;
      await audit.write(change(res, 'key.update', 'api_key', before.id, keyView(before), keyView(after)), tx);
      return { before, after };
    });
    auth.invalidateKey(before.id);
    gov.budgets.invalidate();
    res.json(keyView(after));
  }));
  router.post('/v1/keys/:id/revoke', handle(async (req, res) => {
    const { id } = paramsOf(req, IdParams, { id: keyNotFound });
    const { before, after } = await store.withKeyLocked(id, async (before, tx) => {
      if (!before) throw keyNotFound(id);
      const after = before.revoked_at ? before : (await store.updateKey(before.id, { revoked_at: new Date().toISOString(), previous_secret_hash: null, previous_valid_until: null }, tx))!;
      await audit.write(change(res, 'key.revoke', 'api_key', before.id, keyView(before), keyView(after)), tx);
      return { before, after };
    });
    auth.invalidateKey(before.id);
    res.json(keyView(after));
  }));
  router.post('/v1/keys/:id/rotate', handle(async (req, res) => {
    const { grace_seconds } = parseWith(Rotate, req.body ?? {});
    // Same public id, new secret: the old secret keeps working until the grace period ends. Under the
    // row's lock, so the secret kept as previous is the one current now (not one a concurrent rotation
    // already replaced), and a revocation that got there first is seen.
    const { secret } = newKey();
    const { id } = paramsOf(req, IdParams, { id: keyNotFound });
    const { before, after } = await store.withKeyLocked(id, async (before, tx) => {
      if (!before) throw keyNotFound(id);
      if (before.revoked_at) throw new AppError('conflict', 'A revoked key cannot be rotated.');
      // Its new secret would be refused at once (401 api_key_expired): extend expires_at first (PATCH).
      if (isExpired(before, Date.now())) throw new AppError('conflict', `An expired key cannot be rotated (it expired at ${before.expires_at}); set a later expires_at with PATCH /v1/keys/${before.id} first.`);
      const after = (await store.updateKey(before.id, {
        secret_hash: hashSecret(secret),
        previous_secret_hash: grace_seconds > 0 ? before.secret_hash : null,
        previous_valid_until: grace_seconds > 0 ? new Date(Date.now() + grace_seconds * 1000).toISOString() : null,
      }, tx))!;
      await audit.write(change(res, 'key.rotate', 'api_key', before.id, keyView(before), { ...keyView(after), grace_seconds }), tx);
      return { before, after };
    });
    auth.invalidateKey(before.id);
    res.json({ ...keyView(after), key: formatKey(before.id, secret) });
  }));
  return router;
}

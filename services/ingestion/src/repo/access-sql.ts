import type { Identity } from '@quire/contracts';

/** Who reads: the parts of the signed identity that collection grants and document access use. */
export type Viewer = Pick<Identity, 'team_id' | 'role' | 'groups'>;

/** `own`: the owning team only (collection settings, index versions); `read`/`write`: plus grants. */
export type CollectionAccess = 'own' | 'read' | 'write';

/**
 * The collection `c` is reachable by team `team` (an SQL parameter): its own, or granted in
 * `collection_grants` (any grant reads; writing needs a `write` grant). Unreachable reads as missing.
 */
export function collectionReachSql(c: string, team: string, access: CollectionAccess): string {
  if (access === 'own') return `${c}.team_id = ${team}`;
  const level = access === 'write' ? ` AND g.access = 'write'` : '';
  return `(${c}.team_id = ${team} OR EXISTS (SELECT 1 FROM collection_grants g WHERE g.collection_id = ${c}.id AND g.team_id = ${team}${level}))`;
}

/**
 * Document-level access for the document `d` of a collection owned by `owner` (a column): a document without `access_groups` is visible to
 * everyone who reaches its collection; one with groups only to a caller holding one of them, or to
 * an admin or knowledge-admin of the team that owns it (they manage every document of their
 * collections). A granted team's admins get no such bypass. Same rule in GET, lists, counts, events.
 * A pending replacement (`replaces_document_id`) is also visible only to who may see the document it
 * replaces, which is in the same collection: its own metadata may not restrict what the target does.
 */
export function documentVisibleSql(d: string, owner: string, team: string, groups: string, privileged: string): string {
  const visible = (x: string) => `(${x}.access_groups = '{}' OR ${x}.access_groups && ${groups}::text[] OR (${privileged}::boolean AND ${owner} = ${team}))`;
  return `(${visible(d)} AND (${d}.replaces_document_id IS NULL OR EXISTS (SELECT 1 FROM documents replaced WHERE replaced.id = ${d}.replaces_document_id AND ${visible('replaced')})))`;
}

/**
 * A document's `access_groups` from its metadata (an SQL jsonb expression): `metadata.access_groups`,
 * a list of group names; no key, no restriction. It fails closed: any other value (a string, null, a
 * list with a non-string or empty name), which uploads refuse but older rows may hold, becomes
 * `{NULL}`, which no caller's groups overlap and which is not `{}`: only the owning team's admins
 * see the document on ingestion's routes (to replace it with corrected metadata), and search, which
 * gives admins no bypass, finds it for nobody.
 */
export function accessGroupsSql(metadata: string): string {
  const groups = `${metadata} -> 'access_groups'`;
  return `(CASE WHEN ${groups} IS NULL THEN '{}'::text[]
    WHEN jsonb_typeof(${groups}) = 'array' AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(${groups}) g WHERE jsonb_typeof(g) <> 'string' OR g #>> '{}' = '')
      THEN ARRAY(SELECT jsonb_array_elements_text(${groups}))
    ELSE ARRAY[NULL]::text[] END)`;
}

export const isPrivileged = (viewer: Viewer): boolean => viewer.role === 'admin' || viewer.role === 'knowledge-admin';

/** The parameters `documentVisibleSql` reads, in order: team, groups, privileged. */
export const viewerParams = (viewer: Viewer): [string, string[], boolean] => [viewer.team_id, viewer.groups, isPrivileged(viewer)];

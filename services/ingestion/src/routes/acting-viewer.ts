import type { Queryable } from '@quire/db';
import type { Viewer } from '../repo/access-sql.js';
import { isOrgAdmin, type Identity } from '@quire/contracts';
import { collectionOwner, documentOwner } from '../repo/collections-repo.js';

/** What a request acts on: a collection, or a document and so its collection. */
export type ActingTarget = { collectionId: string } | { documentId: string };

/**
 * The viewer that the repository lookups of a collection or document route scope by. An
 * organisation admin (`isOrgAdmin`) acts as an admin of the team that owns the target, so it reaches
 * every team's collections and, like the owning team's admins, every document in them. Anyone else
 * is its own team, plus grants where the route honours them, and meets another team's collection as
 * missing (404). Only the lookups use this: rows the request writes take the owning team from the
 * collection, and what it stores as the submitter (and so what its model calls cost) stays the
 * caller's identity.
 */
export async function actingViewer(db: Queryable, identity: Identity, target: ActingTarget): Promise<Viewer> {
  if (!isOrgAdmin(identity)) return identity;
  const owner = 'collectionId' in target ? await collectionOwner(db, target.collectionId) : await documentOwner(db, target.documentId);
  // Missing: the caller's own scope finds nothing either, and answers the same 404.
  return owner ? { team_id: owner, role: identity.role, groups: identity.groups } : identity;
}

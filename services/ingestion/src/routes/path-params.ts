import { z } from 'zod';
import { UuidSchema } from '@quire/contracts';
import { AppError } from '@quire/server-kit';

/**
 * The path parameters of the collection, document and index-version routes (read with `paramsOf`),
 * and the 404 each answers. An id that is not a UUID cannot exist, so it is missing like any other:
 * the same answer as a missing row or another team's, and it never reaches SQL.
 */
export const IdParams = z.object({ id: UuidSchema });
export const VersionParams = z.object({ vid: UuidSchema });

export const collectionNotFound = (id: string) => new AppError('collection_not_found', `No collection ${id}.`);
export const documentNotFound = (id: string) => new AppError('document_not_found', `No document ${id}.`);
export const indexVersionNotFound = (vid: string) => new AppError('not_found', `No index version ${vid}.`);

import { z } from 'zod';
import { IdentitySchema, UuidSchema } from '@quire/contracts';
import type { JobDefinition } from '@quire/jobs';

export const IngestDocumentPayloadSchema = z
  .object({
    documentId: UuidSchema,
    collectionId: UuidSchema,
    /** The document version this job may commit; a newer version fences it out. */
    version: z.number().int().min(1),
    identity: IdentitySchema,
    traceId: z.string().min(1).max(200),
  })
  .strict();
export type IngestDocumentPayload = z.infer<typeof IngestDocumentPayloadSchema>;

export const ingestDocumentJob = {
  name: 'ingest-document',
  version: 1,
  payloadSchema: IngestDocumentPayloadSchema,
  // BullMQ refuses ':' in custom ids.
  jobId: (p: IngestDocumentPayload) => `${p.documentId}-v${p.version}`,
  // The submitter's team, as in the parse pool's turns: a team's backlog waits behind its own turns.
  fairnessKey: (p: IngestDocumentPayload) => p.identity.team_id,
} as const satisfies JobDefinition<typeof IngestDocumentPayloadSchema>;

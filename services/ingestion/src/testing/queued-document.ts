import type { Db } from '@quire/db';
import type { IngestDocumentPayload } from '../jobs/ingest-document-job.js';
import { insertDocument } from '../repo/documents-repo.js';
import { TEAM_A } from './http.js';

/**
 * A committed text upload of `paragraphs` paragraphs about `topic` that nobody has enqueued: the test
 * delivers its job itself. Returns that job's payload.
 */
export async function storeQueuedText(db: Db, collectionId: string, topic: string, paragraphs: number): Promise<IngestDocumentPayload> {
  const text = Array.from({ length: paragraphs }, (_, i) => `Paragraph ${i} of the ${topic} document explains item ${i} in some detail.`).join('\n\n');
  const view = await db.transaction((tx) =>
    insertDocument(tx, { collectionId, title: topic, filename: `${topic}.txt`, mime: 'text/plain', bytes: new TextEncoder().encode(text), sha256: topic, metadata: {}, identity: TEAM_A, traceId: `trace-${topic}` }),
  );
  return { documentId: view.id, collectionId, version: 1, identity: TEAM_A, traceId: `trace-${topic}` };
}

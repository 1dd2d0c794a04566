export { createIngestionService, type IngestionService, type IngestionServiceDeps } from './ingestion-service.js';
export { DEFAULT_LIMITS, type IngestionLimits } from './limits.js';
export { IngestionLimitsEnvSchema, readIngestionLimitsEnv } from './limits-env.js';
export { readIngestionEnv, readStandaloneIngestionEnv, type IngestionEnv, type StandaloneIngestionEnv } from './config.js';
export { ingestDocumentJob, IngestDocumentPayloadSchema, type IngestDocumentPayload } from './jobs/ingest-document-job.js';
export type { JobQueue, JobHandler, JobContext } from '@quire/jobs';

import { parentPort } from 'node:worker_threads';
import type { Chunking } from '@quire/contracts';
import { ChunkingError } from '../chunk/chunk-text.js';
import type { FailedLimit } from '../limits.js';
import { ParseError, type ParseFailureCode } from './extracted-text.js';
import { parseAndChunk, type ChunkedDocument, type ParseSummary } from './parse-and-chunk.js';
import type { ParseLimits } from './parse-document.js';
import { TooManyChunksError } from './too-many-chunks-error.js';

/** One task: parse the bytes, then chunk the text (see parse-pool.ts). */
export interface WorkerRequest {
  id: number;
  bytes: Uint8Array;
  mime: string;
  limits: Omit<ParseLimits, 'onPage'>;
  chunking: Chunking;
  maxChunks?: number;
}

/** An error's class does not survive the message, so its kind travels with it. */
export type WorkerError =
  | { kind: 'parse'; message: string; code: ParseFailureCode; limit?: FailedLimit }
  | { kind: 'chunking' | 'other'; message: string }
  | { kind: 'too_many_chunks'; message: string; count: number; limit: number };

/** Replies to a task, in order: page progress, `parsed` (chunking starts), then `result` or `error`. */
export type WorkerReply = { id: number } & (
  | { progress: { page: number; total: number } }
  | { parsed: ParseSummary }
  | { result: ChunkedDocument }
  | { error: WorkerError }
);

function describe(error: unknown): WorkerError {
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof ParseError) return { kind: 'parse', message, code: error.code, ...(error.limit ? { limit: error.limit } : {}) };
  if (error instanceof TooManyChunksError) return { kind: 'too_many_chunks', message, count: error.count, limit: error.limit };
  if (error instanceof ChunkingError) return { kind: 'chunking', message };
  return { kind: 'other', message };
}

parentPort!.on('message', (req: WorkerRequest) => {
  const post = (reply: WorkerReply) => parentPort!.postMessage(reply);
  const onPage = (page: number, total: number) => post({ id: req.id, progress: { page, total } });
  // `parsed` starts the chunking budget on the service's side (see parse-pool.ts).
  parseAndChunk(req.bytes, req.mime, { ...req.limits, onPage }, req.chunking, {
    ...(req.maxChunks !== undefined ? { maxChunks: req.maxChunks } : {}),
    onParsed: (summary) => post({ id: req.id, parsed: summary }),
  }).then(
    (result) => post({ id: req.id, result }),
    (error: unknown) => post({ id: req.id, error: describe(error) }),
  );
});
// pdf.js loads its (in-thread) worker module on first use; loading it now keeps that second out of
// the first document's parse deadline.
const workerModule = 'pdfjs-dist/legacy/build/pdf.worker.mjs';
const pdfWorker: unknown = await import(workerModule);
(globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = pdfWorker;
parentPort!.postMessage({ ready: true });

import { parentPort } from 'node:worker_threads';
import { ParseError } from './extracted-text.js';
import { parseDocument, type ParseLimits } from './parse-document.js';

interface Request {
  id: number;
  bytes: Uint8Array;
  mime: string;
  limits: Omit<ParseLimits, 'onPage'>;
}

parentPort!.on('message', (req: Request) => {
  const onPage = (page: number, total: number) => parentPort!.postMessage({ id: req.id, progress: { page, total } });
  parseDocument(req.bytes, req.mime, { ...req.limits, onPage }).then(
    (result) => parentPort!.postMessage({ id: req.id, result }),
    (error: unknown) =>
      parentPort!.postMessage({ id: req.id, error: { message: (error as Error)?.message ?? String(error), parse: error instanceof ParseError } }),
  );
});
// pdf.js loads its (in-thread) worker module on first use; loading it now keeps that second out of
// the first document's parse deadline.
const workerModule = 'pdfjs-dist/legacy/build/pdf.worker.mjs';
const pdfWorker: unknown = await import(workerModule);
(globalThis as { pdfjsWorker?: unknown }).pdfjsWorker = pdfWorker;
parentPort!.postMessage({ ready: true });

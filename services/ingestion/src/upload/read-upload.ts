import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { DocumentMetadataSchema, DocumentTitleSchema, unstorableTextReason, type Metadata, UuidSchema } from '@quire/contracts';
import { AppError, parseWith } from '@quire/server-kit';
import { LIMIT_SETTING, mebibytes, type IngestionLimits } from '../limits.js';
import { detectType, looksLikeMarkdown } from './detect-type.js';
import { fetchUrl } from './fetch-url.js';
import { closeAfterAnswer, uploadLease, type UploadLease } from './upload-memory.js';
import { htmlTitle, titleFromUrl, toUtf8, withoutTrackingParameters } from './url-document.js';

/** JSON uploads: raw text, or a URL to fetch; either may replace an existing document. */
const JsonDocumentBodySchema = z
  .object({
    text: z.string().min(1, 'text must not be empty').max(20_000_000).optional(),
    /** How `text` is written; detected from the text when left out. */
    format: z.enum(['markdown', 'text']).optional(),
    url: z.string().max(4000).optional(),
    title: DocumentTitleSchema.optional(),
    metadata: DocumentMetadataSchema.optional(),
    replace_document_id: UuidSchema.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    // A body with neither is most often a file upload sent the wrong way: say how files are sent.
    if (b.text === undefined && b.url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['text'], message: "send 'text' or 'url' (files go as multipart/form-data 'file' parts, not in JSON)" });
    } else if (b.text !== undefined && b.url !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['text'], message: "send only one of 'text' and 'url'" });
    }
  })
  .refine((b) => b.format === undefined || b.text !== undefined, { message: "'format' describes 'text'; a fetched URL's type comes from its answer", path: ['format'] });

export interface ReadUpload {
  items: UploadItem[];
  /** A new version of this document (form field or JSON `replace_document_id`). */
  replaceDocumentId: string | null;
}

/** One accepted file (or JSON text), typed and hashed, ready to store. */
export interface UploadItem {
  bytes: Uint8Array;
  sha256: string;
  mime: string;
  filename: string | null;
  /** The caller's title, else one from the file name (or a fetched URL). */
  title: string | null;
  /** Whether the caller named the title: a new version (PUT) keeps the document's title otherwise. */
  titleGiven: boolean;
  metadata: Metadata;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function multerToAppError(error: unknown, limits: IngestionLimits): unknown {
  if (!(error instanceof multer.MulterError)) {
    // busboy's messages for a malformed body ("Unexpected end of form", ...) are safe to show.
    return error instanceof Error && !AppError.is(error) ? new AppError('invalid_request', `Malformed multipart body: ${error.message}`) : error;
  }
  const field = error.field ? ` ('${error.field}')` : '';
  switch (error.code) {
    case 'LIMIT_FILE_SIZE':
      // The rest of the body is dropped, not held, and the connection cut soon after the 413 (closeAfterAnswer).
      return new AppError('payload_too_large', `A file${field} is larger than the ${mebibytes(limits.maxUploadBytes)} limit (${LIMIT_SETTING.maxUploadBytes}).`, { param: 'file' });
    case 'LIMIT_FILE_COUNT':
      return new AppError('invalid_request', `At most ${limits.maxFilesPerUpload} files per upload (${LIMIT_SETTING.maxFilesPerUpload}).`, { param: 'file' });
    case 'LIMIT_UNEXPECTED_FILE':
      return new AppError('invalid_request', `Unexpected file field${field}: send files as 'file' parts.`, { param: error.field });
    default:
      return new AppError('invalid_request', `Invalid multipart body: ${error.message}.`);
  }
}

function parseMetadata(raw: unknown): Metadata {
  if (raw === undefined || raw === '') return {};
  if (typeof raw !== 'string') throw new AppError('invalid_request', "Send 'metadata' once, as JSON text.", { param: 'metadata' });
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new AppError('invalid_request', "The 'metadata' field is not valid JSON.", { param: 'metadata' });
  }
  // Wrapped so the 400 names the field as the JSON body does: `metadata.access_groups`.
  return parseWith(z.object({ metadata: DocumentMetadataSchema }), { metadata: value }, 'metadata').metadata;
}

/** A title or file name Postgres cannot store as text is the caller's error (400 naming `param`), not a 500. */
function requireStorable(text: string | null, param: string, what: string): void {
  const reason = text === null ? undefined : unstorableTextReason(text, 'text');
  if (reason) throw new AppError('invalid_request', `The ${what} ${reason}.`, { param });
}

function titleFromFilename(filename: string): string {
  return filename.replace(/\.[^.]+$/, '') || filename;
}

/**
 * multer's memory storage, except that a file over the limit fails at once: multer's own storage
 * waits for the whole body before reporting the limit, which for a 1 GB upload means reading 1 GB.
 * The bytes held are counted in the upload memory as they arrive (room a declared length took
 * already covers them; a chunked body takes it here).
 */
function boundedMemoryStorage(maxBytes: number, maxTotalBytes: number, lease: UploadLease, onLimit: (error: unknown) => void): multer.StorageEngine {
  let total = 0;
  return {
    _handleFile(_req, file, cb) {
      const parts: Buffer[] = [];
      let size = 0;
      let finished = false;
      const finish = (error: Error | null, info?: Partial<Express.Multer.File>) => {
        if (finished) return;
        finished = true;
        cb(error, info);
      };
      file.stream.on('data', (d: Buffer) => {
        // A refused file's stream may still emit what was already buffered: nothing more to count.
        if (finished) return;
        size += d.length;
        total += d.length;
        if (total > maxTotalBytes) {
          const error = new AppError('payload_too_large', `The files of one upload together are larger than the ${mebibytes(maxTotalBytes)} limit (${LIMIT_SETTING.maxUploadTotalBytes}).`, { param: 'file' });
          onLimit(error);
          finish(error);
          return;
        }
        try {
          lease.need(total);
        } catch (error) {
          onLimit(error);
          finish(error as Error);
          return;
        }
        if (size <= maxBytes) parts.push(d);
      });
      file.stream.on('limit', () => {
        const error = new multer.MulterError('LIMIT_FILE_SIZE', file.fieldname);
        onLimit(error);
        finish(error);
      });
      file.stream.on('error', (error: Error) => finish(error));
      file.stream.on('end', () => finish(null, { buffer: Buffer.concat(parts), size }));
    },
    _removeFile(_req, file, cb) {
      (file as { buffer?: Buffer }).buffer = Buffer.alloc(0);
      cb(null);
    },
  };
}

async function readMultipart(req: Request, res: Response, limits: IngestionLimits): Promise<ReadUpload> {
  let refuse: (error: unknown) => void = () => undefined;
  let stopped = false;
  const stop = () => {
    // Drop the rest of an oversized or broken body and cut the connection soon after the answer,
    // rather than reading it all (memory and time stay flat).
    if (stopped) return;
    stopped = true;
    closeAfterAnswer(req, res);
  };
  const middleware = multer({
    // multer reports the size limit only once the whole body has been read; refuse at the limit.
    storage: boundedMemoryStorage(limits.maxUploadBytes, limits.maxUploadTotalBytes, uploadLease(res), (error) => {
      stop();
      refuse(multerToAppError(error, limits));
    }),
    limits: { fileSize: limits.maxUploadBytes, files: limits.maxFilesPerUpload, fields: 20, fieldSize: 1024 * 1024 },
    // Browsers and curl send UTF-8 filenames without declaring a charset.
    defParamCharset: 'utf8',
  }).array('file', limits.maxFilesPerUpload);
  await new Promise<void>((resolve, reject) => {
    refuse = reject;
    middleware(req, res, (error?: unknown) => {
      if (!error) return resolve();
      stop();
      reject(multerToAppError(error, limits));
    });
  });
  const files = (req.files as Express.Multer.File[] | undefined) ?? [];
  if (files.length === 0) throw new AppError('invalid_request', "Attach at least one 'file' part.", { param: 'file' });
  const fields = (req.body ?? {}) as Record<string, unknown>;
  const metadata = parseMetadata(fields.metadata);
  const title = typeof fields.title === 'string' && fields.title.trim() && files.length === 1 ? fields.title.trim().slice(0, 500) : null;
  requireStorable(title, 'title', 'title');
  const replace = typeof fields.replace_document_id === 'string' && fields.replace_document_id ? fields.replace_document_id : null;
  if (replace && files.length !== 1) throw new AppError('invalid_request', 'Replace a document with exactly one file.', { param: 'replace_document_id' });
  const items: UploadItem[] = [];
  const refused: RefusedFile[] = [];
  files.forEach((file, index) => {
    try {
      requireStorable(file.originalname, 'file', 'file name');
      const bytes = new Uint8Array(file.buffer.buffer, file.buffer.byteOffset, file.buffer.byteLength);
      const { mime } = detectType(bytes, file.originalname, file.mimetype);
      items.push({ bytes, sha256: sha256(bytes), mime, filename: file.originalname || null, title: title ?? (file.originalname ? titleFromFilename(file.originalname) : null), titleGiven: title !== null, metadata });
    } catch (error) {
      if (!AppError.is(error)) throw error;
      refused.push({ index, filename: file.originalname || null, error });
    }
  });
  if (refused.length > 0) throw refusedFilesError(refused, files.length);
  return { items, replaceDocumentId: replace };
}

interface RefusedFile {
  /** Its place among the upload's `file` parts, from 0. */
  index: number;
  filename: string | null;
  error: AppError;
}

/**
 * One refusal for every file an upload refused (its type, an empty file, a file name Postgres cannot
 * store): nothing of the upload is stored, so the caller learns at once all it has to fix. A single
 * file's refusal is its own error. For several, the message names each, the status is the first
 * refused file's (as when only that one was checked), and `files` (beside `error`) lists each with
 * its `index`, `filename`, `code` and `message`.
 */
function refusedFilesError(refused: RefusedFile[], total: number): AppError {
  const first = refused[0]!;
  if (total === 1) return first.error;
  const what = refused.length === 1 ? `1 of the ${total} files was refused` : `${refused.length} of the ${total} files were refused`;
  return new AppError(first.error.code, `${what}, so none was stored: ${refused.map((r) => r.error.message).join(' ')}`, {
    param: 'file',
    exposed: { files: refused.map((r) => ({ index: r.index, filename: r.filename, code: r.error.code, message: r.error.message })) },
  });
}

async function readJson(req: Request, res: Response, limits: IngestionLimits): Promise<ReadUpload> {
  const body = parseWith(JsonDocumentBodySchema, req.body);
  const replaceDocumentId = body.replace_document_id ?? null;
  if (body.url !== undefined) {
    // The fetched document is held like an uploaded file: counted in the upload memory as it arrives.
    const lease = uploadLease(res);
    const fetched = await fetchUrl(body.url, {
      maxBytes: limits.maxUploadBytes,
      timeoutMs: limits.urlFetchTimeoutMs,
      allowLoopback: limits.allowLoopbackUrls,
      maxRedirects: limits.urlMaxRedirects,
      onBytes: (bytes) => lease.need(bytes),
    });
    // The size limits applied to the bytes as served; the stored document is their UTF-8 text (a
    // Latin-1 page grows a little), held in the upload memory with them while it is made.
    const decoded = toUtf8(fetched.bytes, fetched.contentType);
    if (decoded.decodedFrom) lease.need(fetched.bytes.length + decoded.bytes.length);
    const bytes = decoded.bytes;
    const { mime } = detectType(bytes, fetched.filename, fetched.contentType);
    const sourceUrl = withoutTrackingParameters(fetched.finalUrl);
    const metadata = { ...(body.metadata ?? {}), source_url: sourceUrl };
    // The caller's title, else the page's own (<title>, first <h1>), else a name from the URL.
    const title = body.title ?? (mime === 'text/html' ? htmlTitle(bytes) : null) ?? (fetched.filename ? titleFromFilename(fetched.filename) : titleFromUrl(sourceUrl));
    requireStorable(fetched.filename, 'url', "file name in the URL's path");
    requireStorable(title, 'url', 'title taken from the page');
    return { items: [{ bytes, sha256: sha256(bytes), mime, filename: fetched.filename, title, titleGiven: body.title !== undefined, metadata }], replaceDocumentId };
  }
  const text = body.text!;
  if (text.trim().length === 0) throw new AppError('invalid_request', 'text must not be only whitespace.', { param: 'text' });
  // A Buffer is a Uint8Array already: wrapping it in another would copy the text's bytes once more.
  const bytes = Buffer.from(text, 'utf8');
  return {
    items: [{ bytes, sha256: sha256(bytes), mime: (body.format ? body.format === 'markdown' : looksLikeMarkdown(text)) ? 'text/markdown' : 'text/plain', filename: null, title: body.title ?? null, titleGiven: body.title !== undefined, metadata: body.metadata ?? {} }],
    replaceDocumentId,
  };
}

/** Reads either a multipart upload or a JSON `{text}` body; anything else is a 415. */
export async function readUpload(req: Request, res: Response, limits: IngestionLimits): Promise<ReadUpload> {
  if (req.is('multipart/form-data')) return readMultipart(req, res, limits);
  if (req.is('application/json')) return readJson(req, res, limits);
  throw new AppError('unsupported_media_type', 'Send documents as multipart/form-data file parts or as JSON {"text": ...} or {"url": ...}.');
}

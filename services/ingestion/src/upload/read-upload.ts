import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import multer from 'multer';
import { CreateTextDocumentBodySchema, MetadataSchema, type Metadata } from '@quire/contracts';
import { AppError, parseWith } from '@quire/server-kit';
import type { IngestionLimits } from '../limits.js';
import { detectType, looksLikeMarkdown } from './detect-type.js';

/** One accepted file (or JSON text), typed and hashed, ready to store. */
export interface UploadItem {
  bytes: Uint8Array;
  sha256: string;
  mime: string;
  filename: string | null;
  title: string | null;
  metadata: Metadata;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function megabytes(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
}

function multerToAppError(error: unknown, limits: IngestionLimits): unknown {
  if (!(error instanceof multer.MulterError)) {
    // busboy's messages for a malformed body ("Unexpected end of form", ...) are safe to show.
    return error instanceof Error && !AppError.is(error) ? new AppError('invalid_request', `Malformed multipart body: ${error.message}`) : error;
  }
  const field = error.field ? ` ('${error.field}')` : '';
  switch (error.code) {
    case 'LIMIT_FILE_SIZE':
      return new AppError('payload_too_large', `A file${field} is larger than the ${megabytes(limits.maxUploadBytes)} limit.`, { param: 'file' });
    case 'LIMIT_FILE_COUNT':
      return new AppError('invalid_request', `At most ${limits.maxFilesPerUpload} files per upload.`, { param: 'file' });
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
  return parseWith(MetadataSchema, value, 'metadata');
}

function titleFromFilename(filename: string): string {
  return filename.replace(/\.[^.]+$/, '') || filename;
}

async function readMultipart(req: Request, res: Response, limits: IngestionLimits): Promise<UploadItem[]> {
  const middleware = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limits.maxUploadBytes, files: limits.maxFilesPerUpload, fields: 20, fieldSize: 1024 * 1024 },
    // Browsers and curl send UTF-8 filenames without declaring a charset.
    defParamCharset: 'utf8',
  }).array('file', limits.maxFilesPerUpload);
  await new Promise<void>((resolve, reject) => {
    middleware(req, res, (error?: unknown) => (error ? reject(multerToAppError(error, limits)) : resolve()));
  });
  const files = (req.files as Express.Multer.File[] | undefined) ?? [];
  if (files.length === 0) throw new AppError('invalid_request', "Attach at least one 'file' part.", { param: 'file' });
  const fields = (req.body ?? {}) as Record<string, unknown>;
  const metadata = parseMetadata(fields.metadata);
  const title = typeof fields.title === 'string' && fields.title.trim() && files.length === 1 ? fields.title.trim().slice(0, 500) : null;
  return files.map((file) => {
    const bytes = new Uint8Array(file.buffer.buffer, file.buffer.byteOffset, file.buffer.byteLength);
    const { mime } = detectType(bytes, file.originalname, file.mimetype);
    return { bytes, sha256: sha256(bytes), mime, filename: file.originalname || null, title: title ?? (file.originalname ? titleFromFilename(file.originalname) : null), metadata };
  });
}

function readJsonText(req: Request): UploadItem[] {
  const body = parseWith(CreateTextDocumentBodySchema, req.body);
  if (body.text.trim().length === 0) throw new AppError('invalid_request', 'text must not be only whitespace.', { param: 'text' });
  const bytes = new Uint8Array(Buffer.from(body.text, 'utf8'));
  return [
    {
      bytes,
      sha256: sha256(bytes),
      mime: looksLikeMarkdown(body.text) ? 'text/markdown' : 'text/plain',
      filename: null,
      title: body.title ?? null,
      metadata: body.metadata ?? {},
    },
  ];
}

/** Reads either a multipart upload or a JSON `{text}` body; anything else is a 415. */
export async function readUpload(req: Request, res: Response, limits: IngestionLimits): Promise<UploadItem[]> {
  if (req.is('multipart/form-data')) return readMultipart(req, res, limits);
  if (req.is('application/json')) return readJsonText(req);
  throw new AppError('unsupported_media_type', 'Send documents as multipart/form-data file parts or as JSON {"text": ...}.');
}

import type { Request, RequestHandler, Response } from 'express';
import { AppError, ctx, handle, toErrorResponse, type Logger } from '@quire/server-kit';
import { JSON_BODY_MAX_BYTES, LIMIT_SETTING, mebibytes, type IngestionLimits } from '../limits.js';

/**
 * The process's budget for upload bytes held in memory (`uploadMemoryBytes`). Uploads are read whole,
 * hashed and stored before the 2xx, so without a bound on their sum a burst of large uploads takes
 * the heap. Each upload takes its room before its body is read, from its declared length, or as its
 * bytes arrive when none is declared (a chunked multipart body, a fetched URL); the room comes back
 * once its response has ended, however it ended, and its handler has let go of the bytes.
 */
export interface UploadMemory {
  /** Mounted before body parsing on the upload routes: takes the room, or answers the refusal unread. */
  reserve: RequestHandler;
  /** Bytes held for uploads now. */
  inFlight(): number;
}

/** One upload's share of the budget. */
export interface UploadLease {
  /**
   * Makes room for `bytes` held by this upload in all (never less than before). Throws `uploads_busy`
   * (503) when other uploads hold the room, `payload_too_large` (413) when the whole budget is smaller.
   */
  need(bytes: number): void;
  /** Keeps the room past the response until the returned function is called: the handler still holds the bytes. */
  hold(): () => void;
}

// Long enough for an upload of the default sizes to finish on a LAN; a guess, not a promise.
const RETRY_AFTER_S = 5;
const LEASE = Symbol('quire.uploadLease');

export function createUploadMemory(limits: Pick<IngestionLimits, 'uploadMemoryBytes' | 'maxUploadTotalBytes'>, logger: Logger): UploadMemory {
  const budget = limits.uploadMemoryBytes;
  let inFlight = 0;

  const open = (res: Response): UploadLease => {
    let reserved = 0;
    // The response, until it closes (answered or abandoned), and each hold.
    let holders = 1;
    let released = false;
    const drop = () => {
      if (--holders > 0 || released) return;
      released = true;
      inFlight -= reserved;
    };
    res.once('close', drop);
    return {
      need(bytes) {
        if (bytes <= reserved) return;
        // Only after the client left and the handler let go: nobody reads an answer, nothing more is read.
        if (released) throw new DOMException('The client left before its upload was read.', 'AbortError');
        if (bytes > budget) {
          throw new AppError('payload_too_large', `This upload (${mebibytes(bytes)}) is larger than the ${mebibytes(budget)} this service holds in memory for all uploads at once (${LIMIT_SETTING.uploadMemoryBytes}).`);
        }
        if (inFlight - reserved + bytes > budget) {
          throw new AppError(
            'uploads_busy',
            `Other uploads fill the ${mebibytes(budget)} this service holds in memory for uploads at once (${LIMIT_SETTING.uploadMemoryBytes}); this one (${mebibytes(bytes)}) was not read. Retry in a few seconds.`,
            { headers: { 'retry-after': String(RETRY_AFTER_S) } },
          );
        }
        inFlight += bytes - reserved;
        reserved = bytes;
      },
      hold() {
        if (released) return () => undefined;
        holders++;
        let done = false;
        return () => {
          if (done) return;
          done = true;
          drop();
        };
      },
    };
  };

  return {
    reserve(req, res, next) {
      const lease = open(res);
      (res.locals as Record<symbol, unknown>)[LEASE] = lease;
      try {
        lease.need(bytesToReserve(req, limits.maxUploadTotalBytes));
      } catch (error) {
        if (AppError.is(error)) answerUploadRefusal(req, res, error, logger);
        else next(error);
        return;
      }
      next();
    },
    inFlight: () => inFlight,
  };
}

/**
 * What a body takes before it is read. Multipart: its length, though not beyond the most its files
 * may hold; without a length the file bytes are counted as they arrive (the form fields, at most 20
 * of 1 MiB, are not counted). JSON: its length; without one, the most the JSON parser reads, since
 * the parser gives no way to count as it reads. Other bodies are refused (415) without being read.
 */
function bytesToReserve(req: Request, maxUploadTotalBytes: number): number {
  const length = Number(req.headers['content-length']);
  const declared = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  if (req.is('multipart/form-data')) return Math.min(declared ?? 0, maxUploadTotalBytes);
  if (req.is('application/json')) return Math.min(declared ?? JSON_BODY_MAX_BYTES, JSON_BODY_MAX_BYTES);
  return 0;
}

/** True when `res`'s request took room at the gate: an upload, whose body may be as large as the room it took. */
export function hasUploadLease(res: Response): boolean {
  return (res.locals as Record<symbol, UploadLease | undefined>)[LEASE] !== undefined;
}

/** The room `res`'s upload took at the gate. */
export function uploadLease(res: Response): UploadLease {
  const lease = (res.locals as Record<symbol, UploadLease | undefined>)[LEASE];
  // A route reading an upload without the gate would escape the budget: a wiring error, not a request's.
  if (!lease) throw new Error('No upload lease on this request: mount UploadMemory.reserve before body parsing on upload routes.');
  return lease;
}

// How long what is left of a refused body is still taken in (and dropped) after the answer.
const LINGER_MS = 2_000;

/**
 * For an answer sent before the body was read: what is left of the body is dropped as it arrives
 * (node does that after any answer), for at most LINGER_MS, and then the connection is cut. Cutting
 * at once, with the client still sending, makes TCP reset the connection, and the reset can erase
 * the answer before the client has read it (RFC 9112 §9.6): the client would see a reset, not the
 * 413 or the 503 with its `retry-after`. (A `connection: close` header would make node cut at once.)
 * Reading the whole body would last as long as the client kept sending.
 */
export function closeAfterAnswer(req: Request, res: Response): void {
  if (res.headersSent) return;
  res.once('finish', () => {
    if (req.complete) return;
    const socket = req.socket;
    const cut = setTimeout(() => socket.destroy(), LINGER_MS);
    // The body ended in time: the connection is in step again, and may carry the client's next request.
    req.once('end', () => clearTimeout(cut));
    socket.once('close', () => clearTimeout(cut));
  });
}

/**
 * Answers a refusal of upload memory; what is left of the body is dropped, never held (see
 * closeAfterAnswer). A busy refusal is
 * the load's doing, not a fault: logged at warn here rather than through the error middleware, which
 * logs every 5xx as a failure with its stack.
 */
export function answerUploadRefusal(req: Request, res: Response, error: AppError, logger: Logger): void {
  const { traceId } = ctx(res);
  if (error.code === 'uploads_busy') logger.warn('upload refused: upload memory is full', { trace_id: traceId, setting: LIMIT_SETTING.uploadMemoryBytes });
  closeAfterAnswer(req, res);
  const answer = toErrorResponse(error, traceId);
  res.set(answer.headers).status(answer.status).json(answer.body);
}

/**
 * An upload route's handler: its bytes stay counted until it is done with them, also when the client
 * leaves mid-way (the transaction storing them still runs), and a busy refusal met while reading (a
 * chunked body, a fetched URL) is answered as the gate answers one.
 */
export function uploadHandler(logger: Logger, fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return handle(async (req, res) => {
    const done = uploadLease(res).hold();
    try {
      await fn(req, res);
    } catch (error) {
      if (!AppError.is(error) || error.code !== 'uploads_busy' || res.headersSent) throw error;
      answerUploadRefusal(req, res, error, logger);
    } finally {
      done();
    }
  });
}

import express, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { randomBytes } from 'node:crypto';
import { HEADERS, type Identity } from '@quire/contracts';
import { AppError } from './app-error.js';
import { toErrorResponse } from './error-response.js';
import { verifyIdentity } from './identity-token.js';
import type { Logger } from './logger.js';

/** What every handler can read about the request it serves (on `res.locals`). */
export interface RequestContext {
  traceId: string;
  identity: Identity;
  /** The signed identity token as received, to pass on when this service calls the gateway. */
  identityToken: string;
}

export function ctx(res: Response): RequestContext {
  return res.locals as unknown as RequestContext;
}

const TRACE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// New trace ids: this process's random prefix and a counter (unique across processes, and cheaper than a UUID per request).
const TRACE_PREFIX = `req_${randomBytes(8).toString('hex')}`;
let traceSeq = 0;

/** The caller's trace id when it is sane, otherwise a new one. */
export function traceIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && TRACE_ID.test(given) ? given : `${TRACE_PREFIX}${(traceSeq++).toString(36).padStart(8, '0')}`;
}

/** Takes the caller's trace id when it is sane, otherwise makes one, and echoes it back. */
export function traceMiddleware(): RequestHandler {
  return (req, res, next) => {
    const traceId = traceIdOf(req.header(HEADERS.traceId));
    res.locals.traceId = traceId;
    res.setHeader(HEADERS.traceId, traceId);
    next();
  };
}

/**
 * Logs a failed request once: server faults as errors; a request its client abandoned (the work
 * was cancelled on purpose: an AbortError) at info, since nothing failed and nobody reads the answer.
 */
export function logRequestFailure(logger: Logger, error: unknown, traceId: string, status: number, code: string): void {
  if ((error as Error | null)?.name === 'AbortError') logger.info('request abandoned by the client', { trace_id: traceId });
  else if (status >= 500) {
    // The cause says what the client's message leaves out (a provider's own words about the account).
    const cause = (error as { cause?: unknown } | null)?.cause;
    logger.error('request failed', { trace_id: traceId, code, err: String((error as Error)?.stack ?? error), ...(cause instanceof Error ? { cause: cause.message } : {}) });
  }
}

export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const traceId = (res.locals.traceId as string | undefined) ?? 'unknown';
    const { status, body, headers } = toErrorResponse(error, traceId);
    logRequestFailure(logger, error, traceId, status, body.error.code);
    if (res.headersSent) {
      next(error);
      return;
    }
    res.set(headers).status(status).json(body);
  };
}

/**
 * A body express.json did not read (sent without `content-type: application/json`) reaches a route
 * as `undefined`, and the route's validation then blames each field ("name: expected string, received
 * undefined") as if nothing had been sent, or, where every field is optional, ignores it. Such a body
 * is refused with 415 saying what to send. Multipart bodies pass (ingestion's upload route reads them
 * itself), and so do empty ones: a chunked body counts only once a byte of it arrives, since proxies
 * forward body-less POSTs that way.
 */
export function unreadBodyGuard(): RequestHandler {
  return (req, _res, next) => {
    if (req.body !== undefined || req.is('multipart/form-data')) return next();
    const type = req.headers['content-type'];
    const refuse = () =>
      next(new AppError('unsupported_media_type', `The request body was not read: send it as JSON with the header 'content-type: application/json' (${type ? `this request's content-type is '${type}'` : 'this request has no content-type'}).`));
    const length = req.headers['content-length'];
    if (length !== undefined) return Number(length) > 0 ? refuse() : next();
    if (req.headers['transfer-encoding'] === undefined) return next();
    const settle = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      if (chunk.length === 0) return;
      settle();
      req.pause();
      refuse();
    };
    const onEnd = () => {
      settle();
      next();
    };
    const onError = (error: Error) => {
      settle();
      next(error);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  };
}

/** The JSON body limit of a service that sets none. */
export const DEFAULT_JSON_LIMIT_BYTES = 25 * 1024 * 1024;

/** A byte size for a message: "1 MiB", "512 KiB", "300 bytes". */
function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${bytes} bytes`;
}

/**
 * express.json with the limit `limit` gives each request. A body declared larger is refused before a
 * byte of it is read (body-parser would read, and drop, the whole of it first, and a client waiting on
 * `Expect: 100-continue` is never invited to send it); one found larger as it arrives (chunked,
 * compressed) is refused as soon as it passes the limit. Either way the 413 names the limit.
 */
function jsonBody(limit: number | ((req: Request, res: Response) => number)): RequestHandler {
  const parsers = new Map<number, RequestHandler>();
  const parserFor = (bytes: number) => {
    let parser = parsers.get(bytes);
    if (!parser) parsers.set(bytes, (parser = express.json({ limit: bytes })));
    return parser;
  };
  return (req, res, next) => {
    const bytes = typeof limit === 'number' ? limit : limit(req, res);
    const tooLarge = (size?: number) =>
      new AppError('payload_too_large', `${size === undefined ? 'This JSON body' : `This JSON body (${describeBytes(size)})`} is larger than the ${describeBytes(bytes)} that ${req.method} ${req.path} accepts.`);
    const encoding = req.headers['content-encoding'];
    const declared = Number(req.headers['content-length']);
    // The declared length counts the bytes as sent: compressed ones may grow past it, so only plain bodies are judged by it.
    if ((encoding === undefined || encoding.toLowerCase() === 'identity') && declared > bytes && req.is('application/json')) {
      next(tooLarge(declared));
      return;
    }
    parserFor(bytes)(req, res, (error?: unknown) => next((error as { type?: string } | undefined)?.type === 'entity.too.large' ? tooLarge() : error));
  };
}

export interface ServiceAppOptions {
  name: string;
  logger: Logger;
  /** Shared secret for verifying identities forwarded by the gateway; undefined for the gateway itself. */
  internalSecret?: string;
  /** Resolves when the service's dependencies (database, queue) answer; throws otherwise. */
  ready: () => Promise<void>;
  /**
   * The largest JSON body read, in bytes: one size for every route, or one chosen per request before
   * its body is read (after `beforeBody`), so that only routes that budget for large bodies take them.
   * Default DEFAULT_JSON_LIMIT_BYTES. A larger body is refused with 413 naming the limit.
   */
  jsonLimit?: number | ((req: Request, res: Response) => number);
  /**
   * Runs after the identity check and before any body is read: where a route that holds bodies in
   * memory reserves room for one (ingestion's upload memory), since JSON is parsed ahead of routes.
   */
  beforeBody?: RequestHandler;
  /** Parse JSON bodies for every route (default true); the gateway parses only where it must. */
  json?: boolean;
}

/**
 * An express app with the parts every Quire service shares: trace ids, JSON bodies, health and
 * readiness, and (for internal services) verification of the gateway's signed identity.
 * Call `finishServiceApp` after mounting routes to add the 404 and error handlers.
 */
/**
 * A router that matches paths exactly: case and trailing slash count. Express's default matches
 * `/V1/Keys/` to a route for `/v1/keys`, while checks that compare `req.path` (which roles may write,
 * which paths are governed model calls) see another string; a route that cannot be reached under
 * another spelling leaves no such gap. Every router of a Quire service is made with it.
 */
export function exactRouter(): Router {
  return express.Router({ caseSensitive: true, strict: true });
}

export function createServiceApp(options: ServiceAppOptions): Express {
  const app = express();
  // The app's own router matches exactly too (see exactRouter).
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(traceMiddleware());
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: options.name });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await options.ready();
      res.json({ status: 'ready', service: options.name });
    } catch (error) {
      res.status(503).json({ status: 'not_ready', service: options.name, reason: String((error as Error).message ?? error) });
    }
  });
  if (options.internalSecret) {
    const secret = options.internalSecret;
    app.use((req, res, next) => {
      try {
        const token = req.header(HEADERS.identity);
        res.locals.identity = verifyIdentity(token, secret);
        res.locals.identityToken = token;
        next();
      } catch (error) {
        next(error);
      }
    });
  }
  if (options.beforeBody) app.use(options.beforeBody);
  if (options.json !== false) app.use(jsonBody(options.jsonLimit ?? DEFAULT_JSON_LIMIT_BYTES), unreadBodyGuard());
  return app;
}

export function finishServiceApp(app: Express, logger: Logger): Express {
  app.use((req, _res, next) => {
    next(new AppError('not_found', `No route for ${req.method} ${req.path}.`));
  });
  app.use(errorMiddleware(logger));
  return app;
}

/** Wraps an async handler so rejections reach the error middleware (express 5 does this too; explicit is clearer). */
export function handle(fn: (req: Request, res: Response) => Promise<void> | void): RequestHandler {
  return (req, res, next) => {
    Promise.resolve(fn(req, res)).catch(next);
  };
}

import http from 'node:http';
import type { Request, RequestHandler, Response, NextFunction, Router } from 'express';
import express from 'express';
import { HEADERS } from '@quire/contracts';
import { AppError, signIdentity } from '@quire/server-kit';
import type { CallerLocals } from './caller-identity.js';
import { kbChatLocals } from './model-api/kb-chat.js';
import { watchRefusal, type UpstreamError } from './upstream-error.js';

export interface PlatformUpstreams {
  ingestionUrl: string;
  retrievalUrl: string;
}

/** Request headers passed on; everything else (cookies, a caller's own x-quire-* headers) stays here. */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'content-length', 'accept', 'last-event-id'];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'content-length', 'cache-control', 'x-request-id', 'location', 'retry-after'];

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export type { UpstreamError } from './upstream-error.js';

export interface PlatformHooks {
  /** Runs before every forwarded request (the platform API's rate limits). */
  admit?: RequestHandler;
  /** Sees each 4xx JSON answer of a service once it has been passed on (the audit of refusals raised there). */
  onUpstreamError?: (req: Request, res: Response, error: UpstreamError) => void;
}

/**
 * Forwards the platform API to the service that owns it, streaming both ways (uploads and SSE
 * answers are never buffered here), with the caller's identity signed for the service.
 */
function forwardTo(service: UpstreamError['service'], baseUrl: string, internalSecret: string, hooks: PlatformHooks) {
  const target = new URL(baseUrl);
  return (req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as CallerLocals;
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    headers[HEADERS.traceId] = locals.traceId;
    headers[HEADERS.identity] = signIdentity(locals.identity, internalSecret);
    const upstream = http.request(
      { protocol: target.protocol, hostname: target.hostname, port: target.port, path: req.originalUrl, method: req.method, headers, agent },
      (upstreamRes) => {
        const status = upstreamRes.statusCode ?? 502;
        const contentType = String(upstreamRes.headers['content-type'] ?? '');
        res.status(status);
        for (const name of FORWARDED_RESPONSE_HEADERS) {
          const value = upstreamRes.headers[name];
          if (value !== undefined) res.setHeader(name, value);
        }
        if (contentType.startsWith('text/event-stream')) res.flushHeaders();
        watchRefusal(upstreamRes, service, (error) => hooks.onUpstreamError?.(req, res, error));
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      next(new AppError('service_unavailable', 'A Quire service is not reachable right now; try again shortly.', { cause: error }));
    });
    // A client that goes away cancels the upstream request (an answer being generated stops and is metered there).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };
}

export function platformRouter(upstreams: PlatformUpstreams, internalSecret: string, hooks: PlatformHooks = {}): Router {
  const router = express.Router();
  const admitted = (forward: RequestHandler): RequestHandler[] => (hooks.admit ? [hooks.admit, forward] : [forward]);
  const toIngestion = admitted(forwardTo('ingestion', upstreams.ingestionUrl, internalSecret, hooks));
  const toRetrieval = admitted(forwardTo('retrieval', upstreams.retrievalUrl, internalSecret, hooks));
  // Lets /v1/chat/completions forward `kb/<collection>` models to retrieval (model-api/kb-chat.ts).
  router.use(kbChatLocals(upstreams.retrievalUrl, internalSecret, hooks.onUpstreamError));
  router.post('/v1/collections/:id/search', toRetrieval);
  router.post('/v1/collections/:id/answer', toRetrieval);
  // Retrieval: multi-collection search and answers, kb chat, query stats and search settings.
  router.post('/v1/search', toRetrieval);
  router.post('/v1/answer', toRetrieval);
  router.post('/v1/collections/:id/chat', toRetrieval);
  router.get('/v1/collections/:id/query-stats', toRetrieval);
  router.put('/v1/collections/:id/search-settings', toRetrieval);
  // Evaluation (retrieval): eval sets, benchmarks, the index-version promotion gate, online quality.
  router.all('/v1/eval-sets', toRetrieval);
  router.all('/v1/eval-sets/*rest', toRetrieval);
  router.all('/v1/benchmarks', toRetrieval);
  router.all('/v1/benchmarks/*rest', toRetrieval);
  router.post('/v1/collections/:id/index-versions/:vid/promote', toRetrieval);
  router.get('/v1/collections/:id/quality', toRetrieval);
  router.all('/v1/queries', toRetrieval);
  router.all('/v1/queries/*rest', toRetrieval);
  router.all('/v1/collections', toIngestion);
  router.all('/v1/collections/*rest', toIngestion);
  router.all('/v1/documents', toIngestion);
  router.all('/v1/documents/*rest', toIngestion);
  return router;
}

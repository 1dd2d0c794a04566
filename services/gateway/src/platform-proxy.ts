import http from 'node:http';
import type { Request, RequestHandler, Response, NextFunction, Router } from 'express';
import { HEADERS } from '@quire/contracts';
import { AppError, drainOf, signIdentity, exactRouter } from '@quire/server-kit';
import type { CallerLocals } from './caller-identity.js';
import { kbChatLocals } from './model-api/kb-chat.js';
import { watchRefusal, type UpstreamError } from './upstream-error.js';

export interface PlatformUpstreams {
  ingestionUrl: string;
  retrievalUrl: string;
}

/** Request headers passed on; everything else (cookies, a caller's own x-quire-* headers) stays here. */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'content-length', 'accept', 'last-event-id'];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'content-length', 'cache-control', 'x-request-id', 'location', 'content-location', 'retry-after'];

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export type { UpstreamError } from './upstream-error.js';

export interface PlatformHooks {
  /** Runs before every forwarded request (the platform API's rate limits). */
  admit?: RequestHandler;
  /** Sees each 4xx JSON answer of a service once it has been passed on (the audit of refusals raised there). */
  onUpstreamError?: (req: Request, res: Response, error: UpstreamError) => void;
}

/** The `retry:` hint of a live stream the gateway ends as it stops: ingestion's own (its poll interval, at least 1 s). */
const LIVE_STREAM_RETRY_MS = 1_000;

/** True when what was passed on so far ends between two events (or nothing was). */
function endsAnEvent(tail: string): boolean {
  return tail === '' || tail.endsWith('\n\n') || tail.endsWith('\r\n\r\n');
}

/**
 * A live stream (an EventSource's subscription, such as a document's progress events) lasts until the
 * service ends it, so it would hold this gateway's stop for the whole drain deadline. When the gateway
 * begins to stop, the stream ends at the next event boundary (never inside an event) with a
 * `reconnect` event (`reason: 'shutdown'`), as the service itself does when it stops, and the
 * service's side is closed: the client reconnects through another gateway or the restarted one.
 */
function endOnDrain(id: string | undefined, res: Response, upstream: http.ClientRequest, upstreamRes: http.IncomingMessage): void {
  let tail = '';
  let draining = false;
  const end = () => {
    stopWatching();
    upstreamRes.unpipe(res);
    upstreamRes.off('data', onData);
    // Closing the service's side may surface as an 'aborted' error on the answer; the client's side ends below.
    upstreamRes.on('error', () => undefined);
    upstream.destroy();
    const data = { ...(id !== undefined ? { id } : {}), reason: 'shutdown', retry_ms: LIVE_STREAM_RETRY_MS };
    res.end(`event: reconnect\nretry: ${LIVE_STREAM_RETRY_MS}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  // Registered after pipe(): a chunk has been written to the client by the time it is looked at here.
  const onData = (chunk: Buffer) => {
    tail = (tail + chunk.toString('latin1')).slice(-4);
    if (draining && endsAnEvent(tail)) end();
  };
  upstreamRes.on('data', onData);
  const stopWatching = drainOf(res).onDrain(() => {
    if (res.writableEnded || res.destroyed) return;
    draining = true;
    if (endsAnEvent(tail)) end();
  });
  res.once('close', stopWatching);
}

export interface ForwardOptions {
  /** The answer may be a live stream that lasts until the service ends it: ended early when the gateway stops (see endOnDrain). */
  liveStream?: boolean;
}

/**
 * Forwards the platform API to the service that owns it, streaming both ways (uploads and SSE
 * answers are never buffered here), with the caller's identity signed for the service.
 */
function forwardTo(service: UpstreamError['service'], baseUrl: string, internalSecret: string, hooks: PlatformHooks, options: ForwardOptions = {}) {
  const target = new URL(baseUrl);
  return (req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as CallerLocals;
    // Read now: the route's params are the request's only while this handler runs.
    const streamId = typeof req.params.id === 'string' ? req.params.id : undefined;
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    headers[HEADERS.traceId] = locals.traceId;
    headers[HEADERS.identity] = signIdentity(locals.identity, internalSecret);
    // `Expect: 100-continue` (matched as node's server matches it) is the service's to answer (see sendBodyWhenAsked).
    const expectsContinue = /(?:^|\W)100-continue(?:$|\W)/i.test(String(req.headers.expect ?? ''));
    if (expectsContinue) headers.expect = '100-continue';
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
        if (options.liveStream && contentType.startsWith('text/event-stream')) endOnDrain(streamId, res, upstream, upstreamRes);
      },
    );
    upstream.on('error', (error) => {
      // A live stream this gateway ended as it stopped: its last event is on its way out.
      if (res.writableEnded) return;
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      next(new AppError('service_unavailable', 'A Quire service is not reachable right now; try again shortly.', { cause: error }));
    });
    const bodySent = sendBodyWhenAsked(req, upstream, expectsContinue);
    // A client that goes away cancels the upstream request (an answer being generated stops and is
    // metered there); one whose body was never asked for leaves that request unfinished, so it goes too.
    res.on('close', () => {
      if (!res.writableFinished || !bodySent()) upstream.destroy();
    });
  };
}

/**
 * Streams the client's body to the service. A client that sent `Expect: 100-continue` waits for the
 * gateway's 100 before sending it, and this server sends that 100 once the body is read (server-kit's
 * listen): so the body is read only once the service has answered 100 itself ('continue'), having run
 * its checks (the upload memory, the caller's rights). A service that answers at once instead (413,
 * 503 uploads_busy) has its answer passed on with the body never asked for, so it never crosses the
 * network; node then closes the client's connection after that answer (its body, should the client
 * send it anyway, would stand where the next request should), and the client keeps its body for a retry.
 * Returns whether the body has begun to be sent.
 */
function sendBodyWhenAsked(req: Request, upstream: http.ClientRequest, expectsContinue: boolean): () => boolean {
  let sent = false;
  const send = () => {
    sent = true;
    req.pipe(upstream);
  };
  if (expectsContinue) upstream.once('continue', send);
  else send();
  return () => sent;
}

export function platformRouter(upstreams: PlatformUpstreams, internalSecret: string, hooks: PlatformHooks = {}): Router {
  const router = exactRouter();
  const admitted = (forward: RequestHandler): RequestHandler[] => (hooks.admit ? [hooks.admit, forward] : [forward]);
  const toIngestion = admitted(forwardTo('ingestion', upstreams.ingestionUrl, internalSecret, hooks));
  const toIngestionLive = admitted(forwardTo('ingestion', upstreams.ingestionUrl, internalSecret, hooks, { liveStream: true }));
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
  // Conversations are continued through /answer (conversation_id); this deletes one (retrieval checks who may).
  router.delete('/v1/conversations/:id', toRetrieval);
  router.all('/v1/collections', toIngestion);
  router.all('/v1/collections/*rest', toIngestion);
  router.get('/v1/documents/:id/events', toIngestionLive);
  router.all('/v1/documents', toIngestion);
  router.all('/v1/documents/*rest', toIngestion);
  return router;
}

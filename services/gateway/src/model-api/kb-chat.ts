import http from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HEADERS } from '@quire/contracts';
import { AppError, signIdentity } from '@quire/server-kit';
import type { CallerLocals } from '../caller-identity.js';
import { watchRefusal, type UpstreamError } from '../upstream-error.js';

/**
 * `model: "kb/<collection id or name>"` on `/v1/chat/completions`: answered with RAG by retrieval's
 * `POST /v1/collections/:id/chat`, which speaks OpenAI's chat format (JSON and SSE) and adds
 * citations in fields OpenAI clients ignore. The gateway only forwards, with the caller's identity
 * signed, like the platform proxy; retrieval's own model calls come back here and are metered.
 */
const KB_PREFIX = 'kb/';
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

type OnUpstreamError = (req: Request, res: Response, error: UpstreamError) => void;

interface KbChatLocals {
  kbChat?: { retrievalUrl: string; internalSecret: string; onUpstreamError: OnUpstreamError | undefined };
}

/**
 * Mounted by the platform router, which knows retrieval's address and the audit of refusals raised
 * there: lets the chat handler forward, and its refusals be audited like the platform API's.
 */
export function kbChatLocals(retrievalUrl: string, internalSecret: string, onUpstreamError?: OnUpstreamError): RequestHandler {
  return (_req, res, next) => {
    (res.locals as KbChatLocals).kbChat = { retrievalUrl, internalSecret, onUpstreamError };
    next();
  };
}

export function isKbModel(body: unknown): boolean {
  const model = (body as { model?: unknown } | undefined)?.model;
  return typeof model === 'string' && model.startsWith(KB_PREFIX) && model.length > KB_PREFIX.length;
}

export function forwardKbChat(req: Request, res: Response, next?: NextFunction): Promise<void> {
  const config = (res.locals as KbChatLocals).kbChat;
  if (!config) throw new AppError('service_unavailable', 'Knowledge-base chat is not available on this gateway.');
  const locals = res.locals as CallerLocals;
  const ref = String((req.body as { model: string }).model).slice(KB_PREFIX.length);
  const target = new URL(config.retrievalUrl);
  const payload = Buffer.from(JSON.stringify(req.body));
  return new Promise<void>((resolve, reject) => {
    const upstream = http.request(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        path: `/v1/collections/${encodeURIComponent(ref)}/chat`,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          accept: String(req.headers.accept ?? 'application/json'),
          [HEADERS.traceId]: locals.traceId,
          [HEADERS.identity]: signIdentity(locals.identity, config.internalSecret),
        },
      },
      (upstreamRes) => {
        res.status(upstreamRes.statusCode ?? 502);
        for (const name of ['content-type', 'cache-control', 'x-request-id', 'x-quire-query-id', 'retry-after']) {
          const value = upstreamRes.headers[name];
          if (value !== undefined) res.setHeader(name, value);
        }
        if (String(upstreamRes.headers['content-type'] ?? '').startsWith('text/event-stream')) res.flushHeaders();
        watchRefusal(upstreamRes, 'retrieval', (error) => config.onUpstreamError?.(req, res, error));
        upstreamRes.pipe(res);
        upstreamRes.on('end', () => resolve());
        upstreamRes.on('error', () => resolve());
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy(error);
        resolve();
        return;
      }
      const appError = new AppError('service_unavailable', 'The retrieval service is not reachable right now; try again shortly.', { cause: error });
      if (next) {
        next(appError);
        resolve();
      } else reject(appError);
    });
    // A caller that goes away stops the answer being generated (retrieval meters what was produced).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(payload);
  });
}

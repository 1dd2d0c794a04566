import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { HEADERS, type Identity } from '@quire/contracts';
import { AppError, logRequestFailure, traceIdOf, verifyIdentity, writeJson, type Logger } from '@quire/server-kit';
import { attributionFrom } from '../caller-identity.js';
import { ON_BEHALF_OF_GROUPS } from '../governance/authenticator.js';
import type { Governance } from '../governance/governance.js';
import { admitModelCall, auditRefusal, settleOnClose, type ModelCaller } from '../governance/guards.js';
import type { Attribution } from '../ledger.js';
import { modelErrorResponse } from '../model-errors.js';
import type { ModelService } from '../model-service.js';
import { assertBodyDepth } from './body-depth.js';
import { chatCompletions } from './chat-completions.js';
import { embeddings } from './embeddings.js';
import { isKbModel } from './kb-chat.js';
import { rerank } from './rerank.js';
import { responses } from './responses.js';

type Endpoint = (models: ModelService, body: unknown, attribution: Attribution, res: ServerResponse) => Promise<void>;

const ENDPOINTS = new Map<string, Endpoint>([
  ['/v1/chat/completions', chatCompletions],
  ['/v1/embeddings', embeddings],
  ['/v1/rerank', rerank],
  ['/v1/responses', responses],
]);

/** The same limit express's JSON parser has on the model API. */
export const MAX_MODEL_BODY_BYTES = 20 * 1024 * 1024;

export interface ModelFrontDeps {
  models: ModelService;
  governance: Governance;
  internalSecret: string;
  logger: Logger;
  /** Everything the front does not serve itself (the express app). */
  next: RequestListener;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

/** A JSON body the front can read itself: declared JSON, UTF-8, not compressed. Anything else goes to express. */
function plainJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (!type || !type.toLowerCase().startsWith('application/json')) return false;
  const charset = /charset=([^;]+)/i.exec(type)?.[1]?.trim().toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return false;
  const encoding = req.headers['content-encoding'];
  return !encoding || encoding === 'identity';
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > MAX_MODEL_BODY_BYTES) return reject(new AppError('payload_too_large', 'The request body is too large.'));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_MODEL_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new AppError('payload_too_large', 'The request body is too large.'));
      } else {
        chunks.push(chunk);
      }
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
    // A client that goes away mid-body: settle, so nothing waits on a body that never ends.
    req.once('close', () => {
      if (!req.complete) reject(new AppError('invalid_request', 'The request body was cut off before its end.'));
    });
  });
}

/**
 * The model API on node:http directly: `POST /v1/chat/completions`, `/v1/responses`,
 * `/v1/embeddings` and `/v1/rerank` with a plain JSON body are read, authenticated, admitted (allow lists, rate limits,
 * budget reservation) and served here, without express's router, body parser and response
 * helpers, which cost more CPU per call than the whole provider round trip on a fast upstream.
 * The steps and the handlers are the ones the express routes use, so both doors behave the same;
 * everything else (`kb/` models, compressed or non-JSON bodies, the platform and admin API) goes on
 * to express.
 */
export function createModelFront(deps: ModelFrontDeps): RequestListener {
  const gov = deps.governance;

  const caller = async (req: IncomingMessage, traceId: string): Promise<ModelCaller> => {
    const token = header(req, HEADERS.identity);
    if (token) return { traceId, identity: verifyIdentity(token, deps.internalSecret), internal: true, purpose: header(req, HEADERS.purpose) };
    await gov.ready;
    const { identity, policy } = await gov.auth.authenticate(header(req, 'authorization'), header(req, ON_BEHALF_OF_GROUPS));
    return { traceId, identity, internal: false, policy };
  };

  const fail = (req: IncomingMessage, res: ServerResponse, error: unknown, traceId: string, identity: Identity | undefined, body: unknown) => {
    auditRefusal(gov, error, { method: 'POST', path: req.url ?? '', traceId, identity, body });
    const { status, body: payload, headers } = modelErrorResponse(error, traceId);
    logRequestFailure(deps.logger, error, traceId, status, payload.error.quire_code ?? payload.error.code);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (status === 413) res.setHeader('connection', 'close');
    for (const name in headers) res.setHeader(name, headers[name]!);
    writeJson(res, status, payload);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, traceId: string) => {
    let body: unknown;
    let identity: Identity | undefined;
    try {
      const bytes = await readBody(req);
      try {
        body = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new AppError('invalid_json', 'The request body is not valid JSON.');
      }
      if (endpoint === chatCompletions && isKbModel(body)) {
        // RAG over a collection is retrieval's: express forwards it with the platform API's checks.
        (req as IncomingMessage & { body?: unknown }).body = body;
        deps.next(req, res);
        return;
      }
      const who = await caller(req, traceId);
      identity = who.identity;
      // After authentication, as on the express door (its parser runs after the identity step).
      assertBodyDepth(body);
      const object = body !== null && typeof body === 'object' && typeof (body as { model?: unknown }).model === 'string';
      if (object) {
        const admitted = await admitModelCall(gov, who, body as Record<string, unknown>, req.url!, (k, v) => res.setHeader(k, v));
        who.identity = admitted.identity;
        if (!settleOnClose(res, admitted.settle)) return;
      }
      await endpoint(deps.models, body, attributionFrom(who, (name) => header(req, name)), res);
    } catch (error) {
      fail(req, res, error, traceId, identity, body);
    }
  };

  return (req, res) => {
    const endpoint = req.method === 'POST' ? ENDPOINTS.get(req.url ?? '') : undefined;
    if (!endpoint || !plainJson(req)) {
      deps.next(req, res);
      return;
    }
    const traceId = traceIdOf(req.headers[HEADERS.traceId]);
    res.setHeader(HEADERS.traceId, traceId);
    void serve(req, res, endpoint, traceId);
  };
}

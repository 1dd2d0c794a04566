import type { ServerResponse } from 'node:http';
import { DEFAULT_FAKE_DIMENSIONS, fakeEmbedding } from './embedding.js';
import { fakeRank } from './rerank.js';
import { FakeScript, sendJson, serveScriptedFailure, startServer, type FakeServer, type ListenOptions, type RecordedRequest } from './server.js';
import { countTokens } from './tokens.js';

export interface FakeCohereOptions extends ListenOptions {
  /** When set, requests must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

/** `url` is the origin: Cohere's routes carry their version (`/v2/embed`). */
export interface FakeCohere extends FakeServer {}

const MESSAGES: Record<number, string> = {
  400: 'invalid request: the request body is not valid.',
  401: 'invalid api token',
  402: 'Please add or update your payment method at https://dashboard.cohere.com/billing?tab=payment to continue',
  404: "model 'unknown' not found, make sure the correct model ID was used and that you have access to the model.",
  429: 'You are using a Trial key, which is limited to 100 API calls / minute. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at https://dashboard.cohere.com/api-keys.',
  500: 'internal server error, this has been reported to our developers',
  503: 'service unavailable, please try again later',
};

/** Cohere's flat error body (providers.md §6.3). */
export function cohereErrorBody(status: number, message?: string): { id: string; message: string } {
  return { id: '00000000-fake-cohe-re00-000000000000', message: message ?? MESSAGES[status] ?? `The fake server returned HTTP ${status}.` };
}

const INPUT_TYPES = ['search_document', 'search_query', 'classification', 'clustering', 'image'];

export async function startFakeCohere(options: FakeCohereOptions = {}): Promise<FakeCohere> {
  const script = new FakeScript();
  let counter = 0;
  const headers = () => ({ 'x-debug-trace-id': `trace-${++counter}` });
  const meta = (billed: Record<string, number>) => ({ api_version: { version: '2' }, billed_units: billed });

  const embed = (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    const texts: unknown[] = Array.isArray(body?.texts) ? body.texts : [];
    if (typeof body?.model !== 'string') return sendJson(res, 400, cohereErrorBody(400, 'invalid request: model must be specified'), headers());
    if (!INPUT_TYPES.includes(body.input_type)) return sendJson(res, 400, cohereErrorBody(400, 'invalid request: input_type must be specified and one of search_document, search_query, classification, clustering, image'), headers());
    if (texts.length === 0 || texts.length > 96 || texts.some((t) => typeof t !== 'string')) {
      return sendJson(res, 400, cohereErrorBody(400, `invalid request: texts must be a list of 1 to 96 strings, got ${texts.length}`), headers());
    }
    const types: string[] = Array.isArray(body.embedding_types) ? body.embedding_types : ['float'];
    const dimensions = typeof body.output_dimension === 'number' ? body.output_dimension : DEFAULT_FAKE_DIMENSIONS;
    const vectors = (texts as string[]).map((t) => fakeEmbedding(t, dimensions));
    const embeddings: Record<string, unknown> = {};
    for (const type of types) embeddings[type] = type === 'float' ? vectors : vectors.map((v) => v.map((x) => Math.round(x * 127)));
    const tokens = (texts as string[]).reduce((s, t) => s + countTokens(t), 0);
    sendJson(res, 200, { id: `emb-fake-${counter + 1}`, response_type: 'embeddings_by_type', embeddings, texts, meta: meta({ input_tokens: tokens }) }, headers());
  };

  const rerank = (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    const documents: unknown[] = Array.isArray(body?.documents) ? body.documents : [];
    if (typeof body?.model !== 'string' || typeof body?.query !== 'string' || documents.length === 0 || documents.some((d) => typeof d !== 'string')) {
      return sendJson(res, 400, cohereErrorBody(400, 'invalid request: model, query and a non-empty list of string documents are required'), headers());
    }
    const topN = typeof body.top_n === 'number' ? body.top_n : undefined;
    const results = fakeRank(body.query, documents as string[], topN).map((r) => ({ index: r.index, relevance_score: r.score }));
    // One search unit per query over up to 100 documents.
    sendJson(res, 200, { id: `rr-fake-${counter + 1}`, results, meta: meta({ search_units: Math.ceil(documents.length / 100) }) }, headers());
  };

  const server = await startServer(async (_req, res, recorded) => {
    if (serveScriptedFailure(script, res, (failure) => sendJson(res, failure.status, failure.body ?? cohereErrorBody(failure.status), { ...headers(), ...failure.headers }))) return;
    if (options.apiKey !== undefined && recorded.headers.authorization !== `Bearer ${options.apiKey}`) return sendJson(res, 401, cohereErrorBody(401), headers());
    if (recorded.method === 'POST' && recorded.path === '/v2/embed') return embed(res, recorded);
    if (recorded.method === 'POST' && recorded.path === '/v2/rerank') return rerank(res, recorded);
    return sendJson(res, 404, cohereErrorBody(404, `Path not found: ${recorded.path}`), headers());
  }, script, { port: options.port, host: options.host });
  return { ...server, url: server.origin };
}

import type { ServerResponse } from 'node:http';
import { DEFAULT_FAKE_DIMENSIONS, fakeEmbedding } from './embedding.js';
import { fakeRank } from './rerank.js';
import { FakeScript, sendJson, serveScriptedFailure, startServer, type FakeServer, type ListenOptions, type RecordedRequest } from './server.js';
import { countTokens } from './tokens.js';

export interface FakeVoyageOptions extends ListenOptions {
  /** When set, requests must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

/** `url` ends in `/v1`. */
export interface FakeVoyage extends FakeServer {}

const DETAILS: Record<number, string> = {
  400: 'Request body is not valid.',
  401: 'Provided API key is invalid.',
  403: 'Your IP address is not allowed to access this resource.',
  429: 'You have not yet added your payment method in the billing page and will have reduced rate limits of 3 RPM and 10K TPM. Please add a payment method to unlock your full rate limits.',
  500: 'Internal server error.',
  503: 'Service temporarily unavailable due to high load.',
};

/** Voyage's FastAPI-style error body: `{"detail": "..."}` (providers.md §7.2, §10.3). */
export function voyageErrorBody(status: number, detail?: string): { detail: string } {
  return { detail: detail ?? DETAILS[status] ?? `The fake server returned HTTP ${status}.` };
}

/** Rerank tokens: the query is read once per document, plus each document. */
export function rerankTokens(query: string, documents: string[]): number {
  return documents.reduce((sum, doc) => sum + countTokens(query) + countTokens(doc), 0);
}

export async function startFakeVoyage(options: FakeVoyageOptions = {}): Promise<FakeVoyage> {
  const script = new FakeScript();
  let counter = 0;
  const headers = () => ({ 'x-request-id': `voy_fake_${++counter}` });

  const embeddings = (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    const input: unknown[] = typeof body?.input === 'string' ? [body.input] : Array.isArray(body?.input) ? body.input : [];
    if (typeof body?.model !== 'string') return sendJson(res, 400, voyageErrorBody(400, "Field 'model' is required."), headers());
    if (input.length === 0 || input.length > 1000 || input.some((v) => typeof v !== 'string')) {
      return sendJson(res, 400, voyageErrorBody(400, `The batch size limit is 1000. Your batch size is ${input.length}.`), headers());
    }
    if (body.input_type !== undefined && body.input_type !== null && body.input_type !== 'query' && body.input_type !== 'document') {
      return sendJson(res, 400, voyageErrorBody(400, "Value error, input_type must be None, 'query', or 'document'."), headers());
    }
    const dimensions = typeof body.output_dimension === 'number' ? body.output_dimension : DEFAULT_FAKE_DIMENSIONS;
    const data = (input as string[]).map((text, index) => ({ object: 'embedding', embedding: fakeEmbedding(text, dimensions), index }));
    const tokens = (input as string[]).reduce((s, t) => s + countTokens(t), 0);
    sendJson(res, 200, { object: 'list', data, model: body.model, usage: { total_tokens: tokens } }, headers());
  };

  const rerank = (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    const documents: unknown[] = Array.isArray(body?.documents) ? body.documents : [];
    if (typeof body?.model !== 'string' || typeof body?.query !== 'string' || documents.length === 0 || documents.length > 1000 || documents.some((d) => typeof d !== 'string')) {
      return sendJson(res, 400, voyageErrorBody(400, 'model, query and 1 to 1000 string documents are required.'), headers());
    }
    const docs = documents as string[];
    const topK = typeof body.top_k === 'number' ? body.top_k : undefined;
    const data = fakeRank(body.query, docs, topK).map((r) => ({ index: r.index, relevance_score: r.score, ...(body.return_documents === true && { document: docs[r.index] }) }));
    sendJson(res, 200, { object: 'list', data, model: body.model, usage: { total_tokens: rerankTokens(body.query, docs) } }, headers());
  };

  const server = await startServer(async (_req, res, recorded) => {
    if (serveScriptedFailure(script, res, (failure) => sendJson(res, failure.status, failure.body ?? voyageErrorBody(failure.status), { ...headers(), ...failure.headers }))) return;
    if (options.apiKey !== undefined && recorded.headers.authorization !== `Bearer ${options.apiKey}`) return sendJson(res, 401, voyageErrorBody(401), headers());
    if (recorded.method === 'POST' && recorded.path === '/v1/embeddings') return embeddings(res, recorded);
    if (recorded.method === 'POST' && recorded.path === '/v1/rerank') return rerank(res, recorded);
    return sendJson(res, 404, voyageErrorBody(404, 'Not Found'), headers());
  }, script, { port: options.port, host: options.host });
  return server;
}

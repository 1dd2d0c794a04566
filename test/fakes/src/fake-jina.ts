import type { ServerResponse } from 'node:http';
import { DEFAULT_FAKE_DIMENSIONS, fakeEmbedding } from './embedding.js';
import { rerankTokens } from './fake-voyage.js';
import { fakeRank } from './rerank.js';
import { FakeScript, sendJson, serveScriptedFailure, startServer, type FakeServer, type ListenOptions, type RecordedRequest } from './server.js';
import { countTokens } from './tokens.js';

export interface FakeJinaOptions extends ListenOptions {
  /** When set, requests must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

/** `url` ends in `/v1`. */
export interface FakeJina extends FakeServer {}

const DETAILS: Record<number, string> = {
  400: 'Invalid request body.',
  401: 'Unauthorized: the API key is invalid or missing.',
  402: 'Insufficient balance: top up your API key at https://jina.ai/api-dashboard.',
  429: 'Rate limit exceeded: too many requests for this API key, please slow down.',
  500: 'Internal server error.',
  503: 'Service unavailable: the model is overloaded, please retry.',
};

/** Jina's error body: `{"detail": "[RID: ...] message"}` (providers.md §7.1, §10.3). */
export function jinaErrorBody(status: number, detail?: string): { detail: string } {
  return { detail: `[RID: fake-${status}] ${detail ?? DETAILS[status] ?? `The fake server returned HTTP ${status}.`}` };
}

const TASKS = ['retrieval.query', 'retrieval.passage', 'text-matching', 'classification', 'separation'];

export async function startFakeJina(options: FakeJinaOptions = {}): Promise<FakeJina> {
  const script = new FakeScript();
  let counter = 0;
  const headers = () => ({ 'x-request-id': `jina_fake_${++counter}` });

  const embeddings = (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    const input: unknown[] = typeof body?.input === 'string' ? [body.input] : Array.isArray(body?.input) ? body.input : [];
    if (typeof body?.model !== 'string' || input.length === 0 || input.length > 2048) return sendJson(res, 400, jinaErrorBody(400, 'model and 1 to 2048 inputs are required.'), headers());
    if (body.task !== undefined && !TASKS.includes(body.task)) return sendJson(res, 422, jinaErrorBody(422, `Invalid task: ${String(body.task)}`), headers());
    const texts = input.map((v) => (typeof v === 'string' ? v : String((v as { text?: unknown })?.text ?? '')));
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : DEFAULT_FAKE_DIMENSIONS;
    const tokens = texts.reduce((s, t) => s + countTokens(t), 0);
    const data = texts.map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(text, dimensions) }));
    sendJson(res, 200, { model: body.model, object: 'list', usage: { total_tokens: tokens, prompt_tokens: tokens }, data }, headers());
  };

  const rerank = (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    const documents: unknown[] = Array.isArray(body?.documents) ? body.documents : [];
    if (typeof body?.model !== 'string' || typeof body?.query !== 'string' || documents.length === 0) return sendJson(res, 400, jinaErrorBody(400, 'model, query and documents are required.'), headers());
    const docs = documents.map((d) => (typeof d === 'string' ? d : String((d as { text?: unknown })?.text ?? '')));
    const topN = typeof body.top_n === 'number' ? body.top_n : undefined;
    const results = fakeRank(body.query, docs, topN).map((r) => ({ index: r.index, relevance_score: r.score, ...(body.return_documents !== false && { document: { text: docs[r.index] } }) }));
    sendJson(res, 200, { model: body.model, usage: { total_tokens: rerankTokens(body.query, docs) }, results }, headers());
  };

  const server = await startServer(async (_req, res, recorded) => {
    if (serveScriptedFailure(script, res, (failure) => sendJson(res, failure.status, failure.body ?? jinaErrorBody(failure.status), { ...headers(), ...failure.headers }))) return;
    if (options.apiKey !== undefined && recorded.headers.authorization !== `Bearer ${options.apiKey}`) return sendJson(res, 401, jinaErrorBody(401), headers());
    if (recorded.method === 'POST' && recorded.path === '/v1/embeddings') return embeddings(res, recorded);
    if (recorded.method === 'POST' && recorded.path === '/v1/rerank') return rerank(res, recorded);
    return sendJson(res, 404, jinaErrorBody(404, 'Not Found'), headers());
  }, script, { port: options.port, host: options.host });
  return server;
}

import type { ServerResponse } from 'node:http';
import { DEFAULT_FAKE_DIMENSIONS, fakeEmbedding } from './embedding.js';
import { rerankTokens } from './fake-voyage.js';
import { fakeRank } from './rerank.js';
import { FakeScript, sendJson, serveScriptedFailure, startServer, type FakeServer, type ListenOptions, type RecordedRequest } from './server.js';
import { countTokens } from './tokens.js';

export interface FakeTeiOptions extends ListenOptions {
  /** Like `--api-key`: when set, requests must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Like `--max-client-batch-size` (default 32). */
  maxClientBatchSize?: number;
  dimensions?: number;
}

/** `url` is the server root (routes are `/embed`, `/rerank`). */
export interface FakeTei extends FakeServer {}

const ERRORS: Record<number, [string, string]> = {
  413: ['validation', 'batch size 64 > maximum allowed batch size 32'],
  422: ['tokenizer', 'Input validation error: `inputs` must have less than 512 tokens. Given: 700'],
  424: ['backend', 'Inference failed'],
  429: ['overloaded', 'Model is overloaded'],
  503: ['unhealthy', 'unhealthy'],
};

/** TEI's error body (providers.md §7.3). */
export function teiErrorBody(status: number, message?: string): { error: string; error_type: string } {
  const [type, text] = ERRORS[status] ?? ['backend', `The fake server returned HTTP ${status}.`];
  return { error: message ?? text, error_type: type };
}

export async function startFakeTei(options: FakeTeiOptions = {}): Promise<FakeTei> {
  const script = new FakeScript();
  const maxBatch = options.maxClientBatchSize ?? 32;
  /** Metrics headers as TEI sends them; x-compute-tokens is the only token count. */
  const metrics = (tokens: number, chars: number) => ({
    'x-compute-type': 'cpu',
    'x-compute-time': '3',
    'x-compute-characters': String(chars),
    'x-compute-tokens': String(tokens),
    'x-total-time': '4',
    'x-tokenization-time': '0',
    'x-queue-time': '0',
    'x-inference-time': '3',
  });

  const embed = (res: ServerResponse, req: RecordedRequest) => {
    const inputs: unknown[] = typeof req.body?.inputs === 'string' ? [req.body.inputs] : Array.isArray(req.body?.inputs) ? req.body.inputs : [];
    if (inputs.length === 0 || inputs.some((v) => typeof v !== 'string')) return sendJson(res, 422, teiErrorBody(422, 'Input validation error: `inputs` cannot be empty'));
    if (inputs.length > maxBatch) return sendJson(res, 413, teiErrorBody(413, `batch size ${inputs.length} > maximum allowed batch size ${maxBatch}`));
    const texts = inputs as string[];
    const tokens = texts.reduce((s, t) => s + countTokens(t), 0);
    const chars = texts.reduce((s, t) => s + t.length, 0);
    sendJson(res, 200, texts.map((t) => fakeEmbedding(t, options.dimensions ?? DEFAULT_FAKE_DIMENSIONS)), metrics(tokens, chars));
  };

  const rerank = (res: ServerResponse, req: RecordedRequest) => {
    const texts: unknown[] = Array.isArray(req.body?.texts) ? req.body.texts : [];
    if (typeof req.body?.query !== 'string' || texts.length === 0 || texts.some((t) => typeof t !== 'string')) return sendJson(res, 422, teiErrorBody(422, 'Input validation error: `texts` cannot be empty'));
    if (texts.length > maxBatch) return sendJson(res, 413, teiErrorBody(413, `batch size ${texts.length} > maximum allowed batch size ${maxBatch}`));
    const docs = texts as string[];
    const ranked = fakeRank(req.body.query, docs).map((r) => ({ index: r.index, score: r.score, ...(req.body.return_text === true && { text: docs[r.index] }) }));
    sendJson(res, 200, ranked, metrics(rerankTokens(req.body.query, docs), docs.join('').length));
  };

  const server = await startServer(async (_req, res, recorded) => {
    if (serveScriptedFailure(script, res, (failure) => sendJson(res, failure.status, failure.body ?? teiErrorBody(failure.status), failure.headers))) return;
    if (options.apiKey !== undefined && recorded.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { error: 'Unauthorized', error_type: 'unauthorized' });
    }
    if (recorded.method === 'POST' && recorded.path === '/embed') return embed(res, recorded);
    if (recorded.method === 'POST' && recorded.path === '/rerank') return rerank(res, recorded);
    if (recorded.method === 'GET' && recorded.path === '/health') return void res.writeHead(200).end();
    res.writeHead(404).end();
  }, script, { port: options.port, host: options.host });
  return { ...server, url: server.origin };
}

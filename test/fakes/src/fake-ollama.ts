import type { ServerResponse } from 'node:http';
import { DEFAULT_FAKE_DIMENSIONS, fakeEmbedding } from './embedding.js';
import {
  argumentsText,
  FakeScript,
  resolveReply,
  sendJson,
  serveScriptedFailure,
  startServer,
  writeFrames,
  type FakeServer,
  type ListenOptions,
  type RecordedRequest,
  type ReplyFn,
  type SSEFrame,
} from './server.js';
import { countTokens, splitIntoDeltas } from './tokens.js';

export interface FakeOllamaOptions extends ListenOptions {
  /** Pulled models; others get Ollama's 404 (default: `llama3.2`, `all-minilm`). */
  models?: string[];
  reply?: ReplyFn;
  /** When true, the final object omits `prompt_eval_count`, as Ollama does when the prompt was cached. */
  omitPromptEvalCount?: boolean;
}

/** `url` is the server root (routes are `/api/chat`, `/api/embed`, `/api/tags`). */
export interface FakeOllama extends FakeServer {}

export const DEFAULT_OLLAMA_REPLY = 'Hello from the fake Ollama server.';
const CREATED_AT = '2025-01-01T00:00:00.000000Z';

/** Ollama's error body: `{"error": "text"}` (providers.md §8.1). */
export function ollamaErrorBody(status: number, model = 'unknown'): { error: string } {
  if (status === 404) return { error: `model '${model}' not found` };
  if (status === 400) return { error: 'invalid request' };
  if (status === 429) return { error: 'too many requests' };
  if (status === 502) return { error: 'unable to reach the cloud model' };
  return { error: status >= 500 ? 'llama runner process has terminated: exit status 2' : `fake error ${status}` };
}

/** Prompt tokens: countTokens over every message's content and tool-call arguments. */
export function ollamaPromptTokens(body: any): number {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  return messages.reduce((sum, m) => sum + countTokens(String(m?.content ?? '')) + (m?.tool_calls ?? []).reduce((s: number, c: any) => s + countTokens(JSON.stringify(c?.function?.arguments ?? {})), 0), 0);
}

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  const script = new FakeScript();
  const models = options.models ?? ['llama3.2', 'all-minilm'];
  const reply: ReplyFn = options.reply ?? (() => DEFAULT_OLLAMA_REPLY);

  const chat = async (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    if (!Array.isArray(body?.messages)) return sendJson(res, 400, { error: 'messages is required' });
    // Runner options are typed; a wrong type fails decoding, as the real server's does.
    for (const key of ['presence_penalty', 'frequency_penalty']) {
      const value = body.options?.[key];
      if (value !== undefined && typeof value !== 'number') {
        return sendJson(res, 400, { error: `json: cannot unmarshal ${typeof value} into Go struct field Options.options.${key} of type float32` });
      }
    }
    const answer = await resolveReply(reply, body, DEFAULT_OLLAMA_REPLY);
    const model = body.model as string;
    const text = answer.text ?? '';
    const calls = (answer.toolCalls ?? []).map((c) => ({ function: { name: c.name, arguments: JSON.parse(argumentsText(c)) as unknown } }));
    const evalCount = countTokens(answer.reasoning ?? '') + countTokens(text) + calls.reduce((s, c) => s + countTokens(JSON.stringify(c.function.arguments)), 0);
    const doneReason = answer.finishReason ?? 'stop';
    const final = {
      done: true,
      done_reason: doneReason,
      total_duration: 4_883_583_458,
      load_duration: 1_334_875,
      ...(!options.omitPromptEvalCount && { prompt_eval_count: ollamaPromptTokens(body) }),
      prompt_eval_duration: 342_546_000,
      eval_count: evalCount,
      eval_duration: 4_535_599_000,
    };
    const message = (fields: Record<string, unknown>) => ({ role: 'assistant', content: '', ...fields });
    // `stream` defaults to true when the body omits it.
    if (body.stream === false) {
      return sendJson(res, 200, {
        model,
        created_at: CREATED_AT,
        message: message({ content: text, ...(answer.reasoning !== undefined && { thinking: answer.reasoning }), ...(calls.length > 0 && { tool_calls: calls }) }),
        ...final,
      });
    }
    const line = (object: unknown) => `${JSON.stringify(object)}\n`;
    const frames: SSEFrame[] = [];
    for (const piece of splitIntoDeltas(answer.reasoning ?? '')) frames.push({ text: line({ model, created_at: CREATED_AT, message: message({ thinking: piece }), done: false }), delta: true });
    for (const piece of splitIntoDeltas(text)) frames.push({ text: line({ model, created_at: CREATED_AT, message: message({ content: piece }), done: false }), delta: true });
    // Tool calls arrive whole, in one object.
    if (calls.length > 0) frames.push({ text: line({ model, created_at: CREATED_AT, message: message({ tool_calls: calls }), done: false }), delta: true });
    frames.push({ text: line({ model, created_at: CREATED_AT, message: message({}), ...final }) });
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    await writeFrames(res, frames, script.takeStreamFault(), (e) => line({ error: e?.message ?? 'an error was encountered while running the model' }));
  };

  const embed = (res: ServerResponse, req: RecordedRequest) => {
    const input: unknown[] = typeof req.body?.input === 'string' ? [req.body.input] : Array.isArray(req.body?.input) ? req.body.input : [];
    if (input.some((v) => typeof v !== 'string')) return sendJson(res, 400, { error: 'invalid input type' });
    const texts = input as string[];
    const dimensions = typeof req.body.dimensions === 'number' ? req.body.dimensions : DEFAULT_FAKE_DIMENSIONS;
    sendJson(res, 200, {
      model: req.body.model,
      embeddings: texts.map((t) => fakeEmbedding(t, dimensions)),
      total_duration: 14_143_917,
      load_duration: 1_019_500,
      prompt_eval_count: texts.reduce((s, t) => s + countTokens(t), 0),
    });
  };

  const server = await startServer(async (_req, res, recorded) => {
    if (serveScriptedFailure(script, res, (failure) => sendJson(res, failure.status, failure.body ?? ollamaErrorBody(failure.status, recorded.body?.model), failure.headers))) return;
    const { method, path } = recorded;
    if (method === 'GET' && path === '/api/tags') return sendJson(res, 200, { models: models.map((name) => ({ name, model: name, modified_at: CREATED_AT, size: 1, digest: 'sha256:fake' })) });
    if (method !== 'POST' || (path !== '/api/chat' && path !== '/api/embed')) return sendJson(res, 404, { error: '404 page not found' });
    const model = recorded.body?.model;
    if (typeof model !== 'string' || !models.includes(model)) return sendJson(res, 404, ollamaErrorBody(404, String(model)));
    return path === '/api/chat' ? chat(res, recorded) : embed(res, recorded);
  }, script, { port: options.port, host: options.host });
  return { ...server, url: server.origin };
}

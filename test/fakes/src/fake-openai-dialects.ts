import type { ServerResponse } from 'node:http';
import { openAIErrorBody, openAIPromptTokens } from './fake-openai.js';
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
import { countTokens, splitEvenly, splitIntoDeltas } from './tokens.js';

/** The OpenAI-compatible vendors whose differences the adapter must absorb (providers.md §9). */
export type OpenAIDialect = 'deepseek' | 'qwen' | 'mistral' | 'groq' | 'together' | 'vllm';

export interface FakeOpenAIDialectOptions extends ListenOptions {
  dialect: OpenAIDialect;
  /** When set, requests must send `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  reply?: ReplyFn;
}

/** `url` ends in `/v1`. */
export interface FakeOpenAIDialect extends FakeServer {
  dialect: OpenAIDialect;
}

export const DEFAULT_DIALECT_REPLY = 'Hello from a fake OpenAI-compatible vendor.';

/** Each vendor's error body for `status`: vLLM's flat `{object:"error"}`, Mistral's likewise, DeepSeek's balance error, else OpenAI's. */
export function dialectErrorBody(dialect: OpenAIDialect, status: number, model = 'unknown-model'): unknown {
  if (dialect === 'vllm') {
    const type = status === 404 ? 'NotFoundError' : status >= 500 ? 'InternalServerError' : 'BadRequestError';
    return { object: 'error', message: status === 404 ? `The model \`${model}\` does not exist.` : `fake vLLM error ${status}`, type, param: null, code: status };
  }
  if (dialect === 'mistral' && status !== 429) {
    return { object: 'error', message: status === 401 ? 'Unauthorized' : `fake Mistral error ${status}`, type: status >= 500 ? 'internal_error' : 'invalid_request_error', param: null, code: String(status) };
  }
  if (dialect === 'deepseek' && status === 402) return { error: { message: 'Insufficient Balance', type: 'unknown_error', param: null, code: 'invalid_request_error' } };
  if (dialect === 'deepseek' && status === 503) return { error: { message: 'Server Overloaded', type: 'server_error', param: null, code: null } };
  return openAIErrorBody(status, model);
}

export async function startFakeOpenAIDialect(options: FakeOpenAIDialectOptions): Promise<FakeOpenAIDialect> {
  const { dialect } = options;
  const script = new FakeScript();
  const reply: ReplyFn = options.reply ?? (() => DEFAULT_DIALECT_REPLY);
  let counter = 0;
  const headers = (): Record<string, string> => {
    counter++;
    if (dialect === 'vllm') return {};
    const base: Record<string, string> = { 'x-request-id': `req_${dialect}_${counter}` };
    if (dialect === 'groq') Object.assign(base, { 'x-ratelimit-limit-requests': '14400', 'x-ratelimit-remaining-requests': '14399', 'x-ratelimit-reset-requests': '6s', 'x-ratelimit-limit-tokens': '6000', 'x-ratelimit-remaining-tokens': '5990', 'x-ratelimit-reset-tokens': '100ms' });
    return base;
  };

  const chat = async (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    if (dialect === 'mistral') {
      // Mistral validates strictly: OpenAI-only fields are "extra inputs".
      const extra = ['stream_options', 'seed', 'user'].find((key) => body?.[key] !== undefined);
      if (extra) return sendJson(res, 422, { object: 'error', message: `Extra inputs are not permitted: body.${extra}`, type: 'invalid_request_error', param: null, code: null }, headers());
    }
    const answer = await resolveReply(reply, body, DEFAULT_DIALECT_REPLY);
    const model = String(body?.model);
    const text = answer.text ?? '';
    const calls = (answer.toolCalls ?? []).map((c, i) => ({ id: c.id ?? (dialect === 'mistral' ? `Ab3dE6gH${i}` : `call_${dialect}_${i}`), name: c.name, arguments: argumentsText(c) }));
    const prompt = openAIPromptTokens(body);
    const reasoningTokens = answer.usage?.reasoningTokens ?? countTokens(answer.reasoning ?? '');
    const completion = countTokens(text) + calls.reduce((s, c) => s + countTokens(c.arguments), 0) + reasoningTokens;
    const cached = Math.min(answer.usage?.cachedTokens ?? 0, prompt);
    const usage: Record<string, unknown> = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
    if (reasoningTokens > 0) usage.completion_tokens_details = { reasoning_tokens: reasoningTokens };
    if (dialect === 'deepseek') Object.assign(usage, { prompt_cache_hit_tokens: cached, prompt_cache_miss_tokens: prompt - cached });
    else if (cached > 0) usage.prompt_tokens_details = { cached_tokens: cached };
    if (dialect === 'groq') Object.assign(usage, { queue_time: 0.01, prompt_time: 0.002, completion_time: 0.03, total_time: 0.042 });
    const finish = answer.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop');
    const reasoningKey = dialect === 'vllm' ? 'reasoning' : 'reasoning_content';
    const id = `chatcmpl-${dialect}-${counter + 1}`;

    if (body?.stream !== true) {
      const message = {
        role: 'assistant',
        content: calls.length > 0 && !text ? null : text,
        ...(answer.reasoning !== undefined && { [reasoningKey]: answer.reasoning }),
        ...(calls.length > 0 && { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }),
      };
      const json = JSON.stringify({ id, object: 'chat.completion', created: 1_760_000_000, model, choices: [{ index: 0, message, finish_reason: finish }], usage });
      // DeepSeek sends blank lines while a request waits in its queue, before the JSON body.
      const text_ = dialect === 'deepseek' ? `\n\n${json}` : json;
      res.writeHead(200, { 'content-type': 'application/json', ...headers() });
      return void res.end(text_);
    }

    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (choices: unknown[] | null, extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_760_000_000, model, ...(choices !== null && { choices }), ...extra })}\n\n`;
    const delta = (d: Record<string, unknown>, finishReason: string | null = null, extra: Record<string, unknown> = {}) => chunk([{ index: 0, delta: d, finish_reason: finishReason }], extra);
    const frames: SSEFrame[] = [];
    if (dialect === 'deepseek') frames.push({ text: ': keep-alive\n\n' });
    frames.push({ text: delta({ role: 'assistant', content: dialect === 'qwen' && answer.reasoning !== undefined ? null : '' }) });
    for (const piece of splitIntoDeltas(answer.reasoning ?? '')) frames.push({ text: delta({ [reasoningKey]: piece, ...(dialect === 'qwen' && { content: null }) }), delta: true });
    for (const piece of splitIntoDeltas(text)) frames.push({ text: delta({ content: piece }), delta: true });
    calls.forEach((call, index) => {
      frames.push({ text: delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }) });
      for (const part of splitEvenly(call.arguments, 2)) frames.push({ text: delta({ tool_calls: [{ index, function: { arguments: part } }] }), delta: true });
    });
    // Where the final usage goes differs per vendor (providers.md §9, §10.1).
    if (dialect === 'groq') frames.push({ text: delta({}, finish, { x_groq: { id: `req_groq_${counter}`, usage } }) });
    else if (dialect === 'mistral' || dialect === 'together') frames.push({ text: delta({}, finish, { usage }) });
    else frames.push({ text: delta({}, finish) });
    if (includeUsage && dialect !== 'mistral' && dialect !== 'together') frames.push({ text: chunk(dialect === 'vllm' ? null : [], { usage }) });
    frames.push({ text: 'data: [DONE]\n\n' });
    res.writeHead(200, { 'content-type': 'text/event-stream', ...headers() });
    await writeFrames(res, frames, script.takeStreamFault(), (e) => `data: ${JSON.stringify({ error: { message: e?.message ?? 'server error', type: e?.type ?? 'server_error', code: e?.code ?? null } })}\n\n`);
  };

  const server = await startServer(async (_req, res, recorded) => {
    if (serveScriptedFailure(script, res, (failure) => {
      const defaults: Record<string, string> = failure.status === 429 && dialect !== 'vllm' && dialect !== 'deepseek' ? { 'retry-after': '2' } : {};
      sendJson(res, failure.status, failure.body ?? dialectErrorBody(dialect, failure.status, recorded.body?.model), { ...headers(), ...defaults, ...failure.headers });
    })) return;
    if (options.apiKey !== undefined && recorded.headers.authorization !== `Bearer ${options.apiKey}`) return sendJson(res, 401, dialectErrorBody(dialect, 401), headers());
    if (recorded.method === 'POST' && recorded.path === '/v1/chat/completions') return chat(res, recorded);
    return sendJson(res, 404, dialectErrorBody(dialect, 404, recorded.path), headers());
  }, script, { port: options.port, host: options.host });
  return { ...server, dialect };
}

import type { ServerResponse } from 'node:http';
import { DEFAULT_FAKE_DIMENSIONS, fakeEmbedding, toBase64Float32 } from './embedding.js';
import {
  argumentsText,
  FakeScript,
  resolveReply,
  sendJson,
  serveScriptedFailure,
  sleep,
  startServer,
  writeFrames,
  type FakeReply,
  type FakeServer,
  type ListenOptions,
  type RecordedRequest,
  type ReplyFn,
  type SSEFrame,
} from './server.js';
import { countTokens, splitEvenly, splitIntoDeltas } from './tokens.js';
import { allowedToolCalls, checkOpenAIChatParams } from './openai-request-checks.js';

export interface FakeOpenAIOptions extends ListenOptions {
  /** When set, requests must send `Authorization: Bearer <apiKey>` or get OpenAI's 401. */
  apiKey?: string;
  /** Chat answer for a request body (default: DEFAULT_OPENAI_REPLY). */
  reply?: ReplyFn;
  /** Delay before each response, in ms. */
  latencyMs?: number;
  /** Embedding size when the request has no `dimensions` (default 64). */
  dimensions?: number;
  /** Served by `GET /v1/models`. */
  models?: string[];
}

export interface FakeOpenAI extends FakeServer {}

export const DEFAULT_OPENAI_REPLY = 'Hello from the fake OpenAI server.';
const CREATED = 1_760_000_000;

/** OpenAI's documented error envelope and typical text for each status (providers.md §1.5). */
export function openAIErrorBody(status: number, model = 'unknown-model'): { error: { message: string; type: string; param: string | null; code: string | null } } {
  const make = (message: string, type: string, code: string | null = null, param: string | null = null) => ({ error: { message, type, param, code } });
  switch (status) {
    case 400:
      return make('Invalid request: the request body is not valid.', 'invalid_request_error');
    case 401:
      return make('Incorrect API key provided: sk-fake****. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key');
    case 403:
      return make('Country, region, or territory not supported', 'request_forbidden', 'unsupported_country_region_territory');
    case 404:
      return make(`The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    case 429:
      return make(`Rate limit reached for ${model} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.`, 'requests', 'rate_limit_exceeded');
    case 500:
      return make('The server had an error while processing your request. Sorry about that!', 'server_error');
    case 503:
      return make('The engine is currently overloaded, please try again later.', 'server_error');
    default:
      return make(`The fake server returned HTTP ${status}.`, status >= 500 ? 'server_error' : 'invalid_request_error');
  }
}

/** The insufficient-quota variant of 429 (billing; clients must not retry). */
export function openAIQuotaErrorBody() {
  return {
    error: {
      message: 'You exceeded your current quota, please check your plan and billing details.',
      type: 'insufficient_quota',
      param: null,
      code: 'insufficient_quota',
    },
  };
}

function messageText(message: any): string[] {
  const out: string[] = [];
  if (typeof message?.content === 'string') out.push(message.content);
  else if (Array.isArray(message?.content)) for (const part of message.content) if (typeof part?.text === 'string') out.push(part.text);
  for (const call of message?.tool_calls ?? []) out.push(String(call?.function?.arguments ?? ''));
  return out;
}

/** Prompt tokens: countTokens over every message text, tool-call arguments included; no per-message overhead. */
export function openAIPromptTokens(body: any): number {
  const messages: unknown[] = Array.isArray(body?.messages) ? body.messages : [];
  return messages.flatMap(messageText).reduce((sum, text) => sum + countTokens(text), 0);
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const script = new FakeScript();
  const reply: ReplyFn = options.reply ?? (() => DEFAULT_OPENAI_REPLY);
  const models = options.models ?? ['gpt-4o-mini', 'text-embedding-3-small'];
  let counter = 0;
  let remainingRequests = 5000;

  const baseHeaders = (): Record<string, string> => {
    counter++;
    remainingRequests = Math.max(0, remainingRequests - 1);
    return {
      'x-request-id': `req_fake_${String(counter).padStart(6, '0')}`,
      'openai-version': '2020-10-01',
      'openai-processing-ms': String(options.latencyMs ?? 1),
      'x-ratelimit-limit-requests': '5000',
      'x-ratelimit-limit-tokens': '160000',
      'x-ratelimit-remaining-requests': String(remainingRequests),
      'x-ratelimit-remaining-tokens': '159000',
      'x-ratelimit-reset-requests': '12ms',
      'x-ratelimit-reset-tokens': '6m0s',
    };
  };

  const error = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    sendJson(res, status, body, { ...baseHeaders(), ...headers });

  const chat = async (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null || typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) {
      return error(res, 400, { error: { message: "'messages' and 'model' are required.", type: 'invalid_request_error', param: 'messages', code: null } });
    }
    if (body.stream_options != null && body.stream !== true) {
      return error(res, 400, { error: { message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.", type: 'invalid_request_error', param: 'stream_options', code: null } });
    }
    const invalid = checkOpenAIChatParams(body);
    if (invalid) return error(res, 400, { error: { message: invalid.message, type: 'invalid_request_error', param: invalid.param, code: null } });
    const answer: FakeReply = await resolveReply(reply, body, DEFAULT_OPENAI_REPLY);
    const text = answer.text ?? '';
    const toolCalls = allowedToolCalls(body, answer.toolCalls ?? []).map((call, i) => ({ id: call.id ?? `call_fake_${counter + 1}_${i}`, name: call.name, arguments: argumentsText(call) }));
    const promptTokens = openAIPromptTokens(body);
    const reasoningTokens = answer.usage?.reasoningTokens ?? countTokens(answer.reasoning ?? '');
    const completionTokens = countTokens(text) + toolCalls.reduce((s, c) => s + countTokens(c.arguments), 0) + reasoningTokens;
    const cached = Math.min(answer.usage?.cachedTokens ?? 0, promptTokens);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const finishReason = answer.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop');
    const id = `chatcmpl-fake${counter + 1}`;
    const model = body.model as string;

    if (body.stream !== true) {
      return sendJson(
        res,
        200,
        {
          id,
          object: 'chat.completion',
          created: CREATED,
          model,
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: toolCalls.length > 0 && text === '' ? null : text,
                ...(answer.reasoning !== undefined && { reasoning_content: answer.reasoning }),
                refusal: null,
                annotations: [],
                ...(toolCalls.length > 0 && {
                  tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
                }),
              },
              logprobs: null,
              finish_reason: finishReason,
            },
          ],
          usage,
          service_tier: 'default',
          system_fingerprint: 'fp_fake',
        },
        baseHeaders(),
      );
    }

    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: CREATED, model, system_fingerprint: 'fp_fake', choices, ...(includeUsage && { usage: null }), ...extra })}\n\n`;
    const deltaChunk = (delta: Record<string, unknown>, finish: string | null = null) => chunk([{ index: 0, delta, logprobs: null, finish_reason: finish }]);

    const frames: SSEFrame[] = [{ text: deltaChunk({ role: 'assistant', content: toolCalls.length > 0 && text === '' ? null : '', refusal: null }) }];
    for (const piece of splitIntoDeltas(answer.reasoning ?? '')) frames.push({ text: deltaChunk({ reasoning_content: piece }), delta: true });
    for (const piece of splitIntoDeltas(text)) frames.push({ text: deltaChunk({ content: piece }), delta: true });
    toolCalls.forEach((call, index) => {
      frames.push({ text: deltaChunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }) });
      for (const fragment of splitEvenly(call.arguments, 3)) {
        frames.push({ text: deltaChunk({ tool_calls: [{ index, function: { arguments: fragment } }] }), delta: true });
      }
    });
    frames.push({ text: deltaChunk({}, finishReason) });
    if (includeUsage) frames.push({ text: chunk([], { usage }) });
    frames.push({ text: 'data: [DONE]\n\n' });

    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...baseHeaders() });
    await writeFrames(res, frames, script.takeStreamFault(), (e) =>
      `data: ${JSON.stringify({ error: { message: e?.message ?? 'The server had an error while processing your request.', type: e?.type ?? 'server_error', param: null, code: e?.code ?? null } })}\n\n`,
    );
  };

  const embeddings = (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    const input: unknown = body?.input;
    const values: unknown[] = typeof input === 'string' ? [input] : Array.isArray(input) ? input : [];
    const invalid = values.length === 0 || values.length > 2048 || values.some((v) => (typeof v !== 'string' || v === '') && !Array.isArray(v));
    if (typeof body?.model !== 'string' || invalid) {
      return error(res, 400, { error: { message: "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", type: 'invalid_request_error', param: null, code: null } });
    }
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : (options.dimensions ?? DEFAULT_FAKE_DIMENSIONS);
    const base64 = body.encoding_format === 'base64';
    let tokens = 0;
    const data = values.map((value, index) => {
      // Token-id arrays are embedded as their numbers joined by spaces and count one token per id.
      const text = Array.isArray(value) ? value.join(' ') : (value as string);
      tokens += Array.isArray(value) ? value.length : countTokens(text);
      const vector = fakeEmbedding(text, dimensions);
      return { object: 'embedding', index, embedding: base64 ? toBase64Float32(vector) : vector };
    });
    sendJson(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }, baseHeaders());
  };

  const server = await startServer(async (_req, res, recorded) => {
    if (options.latencyMs) await sleep(options.latencyMs);
    if (serveScriptedFailure(script, res, (failure) => {
      const model = typeof recorded.body?.model === 'string' ? recorded.body.model : undefined;
      const defaults: Record<string, string> = failure.status === 429 ? { 'retry-after': '1', 'x-ratelimit-remaining-requests': '0' } : {};
      error(res, failure.status, failure.body ?? openAIErrorBody(failure.status, model), { ...defaults, ...failure.headers });
    })) return;
    if (options.apiKey !== undefined && recorded.headers.authorization !== `Bearer ${options.apiKey}`) {
      return error(res, 401, openAIErrorBody(401));
    }
    const { method, path } = recorded;
    if (method === 'POST' && path === '/v1/chat/completions') return chat(res, recorded);
    if (method === 'POST' && path === '/v1/embeddings') return embeddings(res, recorded);
    if (method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'system' })) }, baseHeaders());
    }
    const modelMatch = /^\/v1\/models\/(.+)$/.exec(path);
    if (method === 'GET' && modelMatch) {
      const id = decodeURIComponent(modelMatch[1] ?? '');
      if (models.includes(id)) return sendJson(res, 200, { id, object: 'model', created: CREATED, owned_by: 'system' }, baseHeaders());
      return error(res, 404, openAIErrorBody(404, id));
    }
    return error(res, 404, { error: { message: `Invalid URL (${method} ${path})`, type: 'invalid_request_error', param: null, code: null } });
  }, script, { port: options.port, host: options.host });
  return server;
}

import type { ServerResponse } from 'node:http';
import { DEFAULT_FAKE_DIMENSIONS, fakeEmbedding } from './embedding.js';
import { openAIPromptTokens } from './fake-openai.js';
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
import { allowedToolCalls, checkOpenAIChatParams } from './openai-request-checks.js';

export interface FakeAzureOpenAIOptions extends ListenOptions {
  /** When set, requests must send `api-key: <apiKey>` (Azure key auth) or get Azure's 401. */
  apiKey?: string;
  /** Deployment name -> underlying model, reported as the response `model` (default: one `gpt-4o-mini` deployment). */
  deployments?: Record<string, string>;
  reply?: ReplyFn;
}

export interface FakeAzureOpenAI extends FakeServer {}

export const DEFAULT_AZURE_REPLY = 'Hello from the fake Azure OpenAI server.';

/** Azure's error envelope: `code` is a string (often the status itself), no `type` (providers.md §3). */
export function azureErrorBody(status: number, apiVersion = '2024-10-21'): { error: { code: string; message: string } } {
  switch (status) {
    case 401:
      return { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.' } };
    case 404:
      return { error: { code: 'DeploymentNotFound', message: 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.' } };
    case 429:
      return { error: { code: '429', message: `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${apiVersion} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds.` } };
    case 503:
      return { error: { code: 'ServiceUnavailable', message: 'The service is temporarily unable to process your request. Please try again later.' } };
    default:
      return { error: { code: String(status), message: `The fake Azure server returned HTTP ${status}.` } };
  }
}

const noFilter = { hate: { filtered: false, severity: 'safe' }, self_harm: { filtered: false, severity: 'safe' }, sexual: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } };

export async function startFakeAzureOpenAI(options: FakeAzureOpenAIOptions = {}): Promise<FakeAzureOpenAI> {
  const script = new FakeScript();
  const deployments = options.deployments ?? { 'gpt-4o-mini': 'gpt-4o-mini-2024-07-18', 'text-embedding-3-small': 'text-embedding-3-small' };
  const reply: ReplyFn = options.reply ?? (() => DEFAULT_AZURE_REPLY);
  let counter = 0;
  const headers = (): Record<string, string> => {
    counter++;
    const id = `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
    return { 'apim-request-id': id, 'x-request-id': id, 'x-ratelimit-remaining-requests': '99', 'x-ratelimit-remaining-tokens': '99000' };
  };

  const chat = async (res: ServerResponse, req: RecordedRequest, model: string) => {
    const body = req.body;
    const invalid = checkOpenAIChatParams(body);
    if (invalid) return sendJson(res, 400, { error: { code: 'invalid_request_error', param: invalid.param, message: invalid.message } }, headers());
    const answer = await resolveReply(reply, body, DEFAULT_AZURE_REPLY);
    const text = answer.text ?? '';
    const calls = allowedToolCalls(body, answer.toolCalls ?? []).map((c, i) => ({ id: c.id ?? `call_az${counter + 1}_${i}`, name: c.name, arguments: argumentsText(c) }));
    const prompt = openAIPromptTokens(body);
    const reasoning = answer.usage?.reasoningTokens ?? 0;
    const completion = countTokens(text) + calls.reduce((s, c) => s + countTokens(c.arguments), 0) + reasoning;
    const usage = {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: Math.min(answer.usage?.cachedTokens ?? 0, prompt) },
      completion_tokens_details: { reasoning_tokens: reasoning },
    };
    const finish = answer.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop');
    const id = `chatcmpl-az${counter + 1}`;
    const toolCalls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    if (body?.stream !== true) {
      return sendJson(res, 200, {
        id, object: 'chat.completion', created: 1_760_000_000, model,
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: noFilter }],
        choices: [{ index: 0, finish_reason: finish, message: { role: 'assistant', content: calls.length && !text ? null : text, ...(calls.length && { tool_calls: toolCalls }) }, content_filter_results: noFilter }],
        usage,
      }, headers());
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1_760_000_000, model, choices, ...extra })}\n\n`;
    const delta = (d: Record<string, unknown>, finishReason: string | null = null) => chunk([{ index: 0, delta: d, finish_reason: finishReason, content_filter_results: {} }]);
    // Azure opens with a metadata chunk (empty choices, prompt filter results) and interleaves filter-only chunks without a delta.
    const frames: SSEFrame[] = [
      { text: `data: ${JSON.stringify({ id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: noFilter }] })}\n\n` },
      { text: delta({ role: 'assistant', content: '' }) },
    ];
    for (const piece of splitIntoDeltas(text)) frames.push({ text: delta({ content: piece }), delta: true });
    if (text) frames.push({ text: chunk([{ index: 0, finish_reason: null, content_filter_results: noFilter, content_filter_offsets: { check_offset: 0, start_offset: 0, end_offset: text.length } }]) });
    calls.forEach((call, index) => {
      frames.push({ text: delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }) });
      for (const part of splitEvenly(call.arguments, 3)) frames.push({ text: delta({ tool_calls: [{ index, function: { arguments: part } }] }), delta: true });
    });
    frames.push({ text: delta({}, finish) });
    if (includeUsage) frames.push({ text: chunk([], { usage }) });
    frames.push({ text: 'data: [DONE]\n\n' });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', ...headers() });
    await writeFrames(res, frames, script.takeStreamFault(), (e) => `data: ${JSON.stringify({ error: { code: e?.code ?? 'server_error', message: e?.message ?? 'The server had an error.' } })}\n\n`);
  };

  const embeddings = (res: ServerResponse, req: RecordedRequest, model: string) => {
    const input: unknown = req.body?.input;
    const values = typeof input === 'string' ? [input] : Array.isArray(input) ? (input as unknown[]) : [];
    if (values.length === 0 || values.some((v) => typeof v !== 'string')) return sendJson(res, 400, { error: { code: 'invalid_request_error', message: "'input' is invalid." } }, headers());
    const dimensions = typeof req.body.dimensions === 'number' ? req.body.dimensions : DEFAULT_FAKE_DIMENSIONS;
    let tokens = 0;
    const data = (values as string[]).map((text, index) => {
      tokens += countTokens(text);
      return { object: 'embedding', index, embedding: fakeEmbedding(text, dimensions) };
    });
    sendJson(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }, headers());
  };

  return startServer(async (_req, res, recorded) => {
    const query = new URLSearchParams(recorded.url.split('?')[1] ?? '');
    const apiVersion = query.get('api-version');
    if (serveScriptedFailure(script, res, (failure) => {
      const defaults: Record<string, string> = failure.status === 429 ? { 'retry-after': '6', 'retry-after-ms': '6000' } : {};
      sendJson(res, failure.status, failure.body ?? azureErrorBody(failure.status, apiVersion ?? undefined), { ...headers(), ...defaults, ...failure.headers });
    })) return;
    if (options.apiKey !== undefined && recorded.headers['api-key'] !== options.apiKey) return sendJson(res, 401, azureErrorBody(401), headers());
    const match = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(recorded.path);
    if (recorded.method !== 'POST' || !match) return sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } }, headers());
    if (!apiVersion) return sendJson(res, 400, { error: { code: 'BadRequest', message: 'Missing API version. Please provide the api-version query parameter.' } }, headers());
    const model = deployments[decodeURIComponent(match[1] ?? '')];
    if (!model) return sendJson(res, 404, azureErrorBody(404), headers());
    return match[2] === 'embeddings' ? embeddings(res, recorded, model) : chat(res, recorded, model);
  }, script, { port: options.port, host: options.host });
}

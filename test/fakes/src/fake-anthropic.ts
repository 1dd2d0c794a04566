import type { ServerResponse } from 'node:http';
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
import { anthropicToolCalls, checkAnthropicParams } from './anthropic-request-checks.js';

export interface FakeAnthropicOptions extends ListenOptions {
  /** When set, requests must send `x-api-key: <apiKey>` or get Anthropic's 401. */
  apiKey?: string;
  /** Answer for a request body (default: DEFAULT_ANTHROPIC_REPLY). */
  reply?: ReplyFn;
  latencyMs?: number;
}

export interface FakeAnthropic extends FakeServer {}

export const DEFAULT_ANTHROPIC_REPLY = 'Hello from the fake Anthropic server.';

const ERROR_TYPES: Record<number, [string, string]> = {
  400: ['invalid_request_error', 'Invalid request.'],
  401: ['authentication_error', 'invalid x-api-key'],
  402: ['billing_error', 'Your credit balance is too low to access the Anthropic API.'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
  500: ['api_error', 'Internal server error'],
  504: ['timeout_error', 'Request timed out'],
  529: ['overloaded_error', 'Overloaded'],
};

/** Anthropic's error body (providers.md §4.4) with its documented type for `status`. */
export function anthropicErrorBody(status: number, requestId = 'req_fake', message?: string) {
  const [type, text] = ERROR_TYPES[status] ?? [status >= 500 ? 'api_error' : 'invalid_request_error', `The fake server returned HTTP ${status}.`];
  return { type: 'error', error: { type, message: message ?? text }, request_id: requestId };
}

function blockText(block: any): string[] {
  if (typeof block === 'string') return [block];
  if (block?.type === 'text' && typeof block.text === 'string') return [block.text];
  if (block?.type === 'tool_use') return [JSON.stringify(block.input ?? {})];
  if (block?.type === 'tool_result') return typeof block.content === 'string' ? [block.content] : (block.content ?? []).flatMap(blockText);
  return [];
}

/** Prompt tokens: countTokens over system text and every text, tool_use input and tool_result in messages. */
export function anthropicPromptTokens(body: any): number {
  const texts: string[] = [];
  if (typeof body?.system === 'string') texts.push(body.system);
  else if (Array.isArray(body?.system)) texts.push(...body.system.flatMap(blockText));
  for (const message of body?.messages ?? []) {
    if (typeof message?.content === 'string') texts.push(message.content);
    else if (Array.isArray(message?.content)) texts.push(...message.content.flatMap(blockText));
  }
  return texts.reduce((sum, text) => sum + countTokens(text), 0);
}

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const script = new FakeScript();
  const reply: ReplyFn = options.reply ?? (() => DEFAULT_ANTHROPIC_REPLY);
  let counter = 0;

  const nextRequestId = () => `req_fake${String(++counter).padStart(6, '0')}`;
  const headers = (requestId: string): Record<string, string> => {
    const reset = new Date(Date.UTC(2030, 0, 1, 0, 1, 0)).toISOString().replace('.000Z', 'Z');
    return {
      'request-id': requestId,
      'anthropic-organization-id': 'org-fake',
      'anthropic-ratelimit-requests-limit': '4000',
      'anthropic-ratelimit-requests-remaining': '3999',
      'anthropic-ratelimit-requests-reset': reset,
      'anthropic-ratelimit-tokens-limit': '400000',
      'anthropic-ratelimit-tokens-remaining': '399000',
      'anthropic-ratelimit-tokens-reset': reset,
      'anthropic-ratelimit-input-tokens-limit': '300000',
      'anthropic-ratelimit-input-tokens-remaining': '299000',
      'anthropic-ratelimit-input-tokens-reset': reset,
      'anthropic-ratelimit-output-tokens-limit': '100000',
      'anthropic-ratelimit-output-tokens-remaining': '100000',
      'anthropic-ratelimit-output-tokens-reset': reset,
    };
  };
  const error = (res: ServerResponse, status: number, body?: unknown, extra: Record<string, string> = {}, message?: string) => {
    const requestId = nextRequestId();
    sendJson(res, status, body ?? anthropicErrorBody(status, requestId, message), { ...headers(requestId), ...extra });
  };

  const messages = async (res: ServerResponse, req: RecordedRequest) => {
    const body = req.body;
    if (typeof body?.model !== 'string') return error(res, 400, undefined, {}, 'model: Field required');
    if (typeof body.max_tokens !== 'number') return error(res, 400, undefined, {}, 'max_tokens: Field required');
    if (!Array.isArray(body.messages) || body.messages.length === 0) return error(res, 400, undefined, {}, 'messages: at least one message is required');
    if (body.messages.some((m: any) => m?.role !== 'user' && m?.role !== 'assistant')) {
      return error(res, 400, undefined, {}, "messages: roles must be 'user' or 'assistant'; use the top-level system parameter for system prompts");
    }
    const invalid = checkAnthropicParams(body);
    if (invalid) return error(res, 400, undefined, {}, invalid);
    const answer: FakeReply = await resolveReply(reply, body, DEFAULT_ANTHROPIC_REPLY);
    const requestId = nextRequestId();
    const id = `msg_fake${counter}`;
    const model = body.model as string;
    const text = answer.text ?? '';
    const toolCalls = anthropicToolCalls(body, answer.toolCalls ?? []).map((call, i) => ({ id: call.id ?? `toolu_fake${counter}_${i}`, name: call.name, input: argumentsText(call) }));
    const prompt = anthropicPromptTokens(body);
    const cacheRead = Math.min(answer.usage?.cachedTokens ?? 0, prompt);
    const cacheWrite = Math.min(answer.usage?.cacheWriteTokens ?? 0, prompt - cacheRead);
    const outputTokens = countTokens(answer.reasoning ?? '') + countTokens(text) + toolCalls.reduce((s, c) => s + countTokens(c.input), 0);
    // input_tokens excludes cache reads and writes, as the real API reports it.
    const usage = { input_tokens: prompt - cacheRead - cacheWrite, cache_creation_input_tokens: cacheWrite, cache_read_input_tokens: cacheRead, output_tokens: outputTokens };
    const stopReason = answer.finishReason ?? (toolCalls.length > 0 ? 'tool_use' : 'end_turn');

    const content: Record<string, unknown>[] = [];
    if (answer.reasoning !== undefined) content.push({ type: 'thinking', thinking: answer.reasoning, signature: 'sig_fake' });
    if (text !== '' || toolCalls.length === 0) content.push({ type: 'text', text });
    for (const call of toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: JSON.parse(call.input) as unknown });

    if (body.stream !== true) {
      return sendJson(
        res,
        200,
        {
          id,
          type: 'message',
          role: 'assistant',
          model,
          content,
          stop_reason: stopReason,
          stop_sequence: null,
          usage: { ...usage, cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 }, service_tier: 'standard' },
        },
        headers(requestId),
      );
    }

    const event = (name: string, data: Record<string, unknown>): string => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
    const frames: SSEFrame[] = [
      {
        text: event('message_start', {
          message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
        }),
      },
    ];
    let pinged = false;
    content.forEach((block, index) => {
      const start =
        block.type === 'text'
          ? { type: 'text', text: '' }
          : block.type === 'thinking'
            ? { type: 'thinking', thinking: '', signature: '' }
            : { type: 'tool_use', id: block.id, name: block.name, input: {} };
      frames.push({ text: event('content_block_start', { index, content_block: start }) });
      if (!pinged) {
        frames.push({ text: event('ping', {}) });
        pinged = true;
      }
      const delta = (d: Record<string, unknown>) => frames.push({ text: event('content_block_delta', { index, delta: d }), delta: true });
      if (block.type === 'text') for (const piece of splitIntoDeltas(block.text as string)) delta({ type: 'text_delta', text: piece });
      if (block.type === 'thinking') {
        for (const piece of splitIntoDeltas(block.thinking as string)) delta({ type: 'thinking_delta', thinking: piece });
        frames.push({ text: event('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'sig_fake' } }) });
      }
      if (block.type === 'tool_use') for (const part of splitEvenly(JSON.stringify(block.input), 3)) delta({ type: 'input_json_delta', partial_json: part });
      frames.push({ text: event('content_block_stop', { index }) });
    });
    frames.push({ text: event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } }) });
    frames.push({ text: event('message_stop', {}) });

    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers(requestId) });
    await writeFrames(res, frames, script.takeStreamFault(), (e) =>
      event('error', { error: { type: e?.type ?? 'overloaded_error', message: e?.message ?? 'Overloaded' } }),
    );
  };

  return startServer(async (_req, res, recorded) => {
    if (options.latencyMs) await sleep(options.latencyMs);
    if (serveScriptedFailure(script, res, (failure) => {
      const defaults: Record<string, string> = failure.status === 429 || failure.status === 529 ? { 'retry-after': '1' } : {};
      error(res, failure.status, failure.body, { ...defaults, ...failure.headers });
    })) return;
    if (options.apiKey !== undefined && recorded.headers['x-api-key'] !== options.apiKey) return error(res, 401);
    if (!recorded.headers['anthropic-version']) return error(res, 400, undefined, {}, 'anthropic-version: header is required');
    if (recorded.method === 'POST' && recorded.path === '/v1/messages') return messages(res, recorded);
    return error(res, 404, undefined, {}, `Not found: ${recorded.method} ${recorded.path}`);
  }, script, { port: options.port, host: options.host });
}

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

export interface FakeGeminiOptions extends ListenOptions {
  /** When set, requests must send `x-goog-api-key` (or `?key=`) with this value. */
  apiKey?: string;
  reply?: ReplyFn;
  /** Served by `GET /v1beta/models` (ids without the `models/` prefix). */
  models?: string[];
}

/** `url` is the v1beta base, e.g. `http://127.0.0.1:5000/v1beta`. */
export interface FakeGemini extends FakeServer {}

export const DEFAULT_GEMINI_REPLY = 'Hello from the fake Gemini server.';
export const GEMINI_FAKE_RETRY_DELAY = '7s';

const CANONICAL: Record<number, [string, string]> = {
  400: ['INVALID_ARGUMENT', 'Request contains an invalid argument.'],
  403: ['PERMISSION_DENIED', 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.'],
  404: ['NOT_FOUND', 'models/unknown is not found for API version v1beta, or is not supported for generateContent.'],
  429: ['RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.'],
  500: ['INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'],
  503: ['UNAVAILABLE', 'The model is overloaded. Please try again later.'],
  504: ['DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.'],
};

/** A google.rpc error body (providers.md §5.5); 429 carries QuotaFailure and RetryInfo like the real API. */
export function geminiErrorBody(status: number, message?: string) {
  const [canonical, text] = CANONICAL[status] ?? [status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT', `The fake server returned HTTP ${status}.`];
  const details =
    status === 429
      ? [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', quotaValue: '10' }] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: GEMINI_FAKE_RETRY_DELAY },
        ]
      : undefined;
  return { error: { code: status, message: message ?? text, status: canonical, ...(details && { details }) } };
}

export function geminiInvalidKeyBody() {
  return {
    error: {
      code: 400,
      message: 'API key not valid. Please pass a valid API key.',
      status: 'INVALID_ARGUMENT',
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } }],
    },
  };
}

/** Gemini 3 models refuse a replayed function call without its signature; 2.5 models accept one. */
export function requiresThoughtSignatures(model: string): boolean {
  return /^gemini-3/.test(model);
}

/**
 * The placeholders Google documents for function calls Gemini never signed (another model's history,
 * injected calls): https://ai.google.dev/gemini-api/docs/thought-signatures#faqs. The API takes
 * either in place of a signature; a missing one is still refused.
 */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';
const PLACEHOLDER_SIGNATURES = new Set([SKIP_THOUGHT_SIGNATURE, 'context_engineering_is_the_way_to_go']);

/** The real 400 for a replayed function call that lost its signature (INVALID_ARGUMENT, no details). */
export function geminiMissingSignatureBody(functionName: string, position: number) {
  return geminiErrorBody(
    400,
    `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${functionName}\` , position ${position}. please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
  );
}

/**
 * Gemini 3 validates the "current turn" only: the contents after the last user message that holds
 * something other than function responses. In it, the first functionCall part of every model step
 * must carry the signature the server issued (parallel calls after the first carry none). Returns
 * the error body to send, or undefined when the history passes.
 */
function signatureViolation(contents: any[], issued: Set<string>): unknown {
  let start = 0;
  contents.forEach((content, i) => {
    const parts: any[] = Array.isArray(content?.parts) ? content.parts : [];
    if (content?.role === 'user' && parts.some((p) => !p?.functionResponse)) start = i + 1;
  });
  for (let i = start; i < contents.length; i++) {
    const content = contents[i];
    if (content?.role !== 'model') continue;
    const first = (content.parts ?? []).find((p: any) => p?.functionCall);
    if (!first) continue;
    const signature = first.thoughtSignature;
    if (typeof signature !== 'string' || signature === '') return geminiMissingSignatureBody(String(first.functionCall.name), i + 1);
    if (!PLACEHOLDER_SIGNATURES.has(signature) && !issued.has(signature)) return geminiErrorBody(400, 'Corrupted thought signature.');
  }
  return undefined;
}

function partTexts(part: any): string[] {
  if (typeof part?.text === 'string') return [part.text];
  if (part?.functionCall) return [JSON.stringify(part.functionCall.args ?? {})];
  if (part?.functionResponse) return [JSON.stringify(part.functionResponse.response ?? {})];
  return [];
}

/** Prompt tokens: countTokens over systemInstruction and every part's text, call args and response JSON. */
export function geminiPromptTokens(body: any): number {
  const parts = [...(body?.systemInstruction?.parts ?? []), ...(body?.contents ?? []).flatMap((c: any) => c?.parts ?? [])];
  return parts.flatMap(partTexts).reduce((sum: number, text: string) => sum + countTokens(text), 0);
}

const GENERATION_CONFIG = new Set([
  'maxOutputTokens', 'temperature', 'topP', 'topK', 'stopSequences', 'seed', 'candidateCount', 'presencePenalty', 'frequencyPenalty',
  'responseMimeType', 'responseSchema', 'responseJsonSchema', 'thinkingConfig', 'responseLogprobs', 'logprobs',
]);
const THINKING_LEVELS = ['minimal', 'low', 'medium', 'high'];

/** generationConfig as the API checks it: unknown names refused, penalties numbers, thinking levels on Gemini 3 only. */
function generationConfigViolation(config: any, model: string): string | undefined {
  if (config === undefined) return undefined;
  const unknown = Object.keys(config).find((key) => !GENERATION_CONFIG.has(key));
  if (unknown) return `Invalid JSON payload received. Unknown name "${unknown}" at 'generation_config': Cannot find field.`;
  for (const key of ['presencePenalty', 'frequencyPenalty']) {
    if (config[key] !== undefined && typeof config[key] !== 'number') return `Invalid value at 'generation_config.${key}' (TYPE_FLOAT).`;
  }
  const level = config.thinkingConfig?.thinkingLevel;
  if (level !== undefined) {
    if (!requiresThoughtSignatures(model)) return 'Thinking level is not supported for this model.';
    if (!THINKING_LEVELS.includes(level)) return `Invalid value at 'generation_config.thinking_config.thinking_level', "${level}".`;
  }
  return undefined;
}

/** `toolConfig.functionCallingConfig` as the API checks it: a known mode, allowed names only where a mode restricts calls. */
const CALLING_MODES = ['MODE_UNSPECIFIED', 'AUTO', 'ANY', 'NONE', 'VALIDATED'];
function toolConfigViolation(toolConfig: any): string | undefined {
  const calling = toolConfig?.functionCallingConfig;
  if (calling === undefined) return undefined;
  if (calling.mode !== undefined && !CALLING_MODES.includes(calling.mode)) {
    return `Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "${calling.mode}"`;
  }
  if (calling.allowedFunctionNames !== undefined && !['ANY', 'VALIDATED'].includes(calling.mode)) {
    return 'allowed_function_names can only be set when the mode is ANY or VALIDATED.';
  }
  return undefined;
}

export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const script = new FakeScript();
  const reply: ReplyFn = options.reply ?? (() => DEFAULT_GEMINI_REPLY);
  const models = options.models ?? ['gemini-2.5-flash', 'gemini-3-pro-preview', 'gemini-embedding-001'];
  let counter = 0;
  // Signatures are opaque to clients; the fake remembers what it issued so it can tell a replayed one from a made-up one.
  const issued = new Set<string>();
  const sign = (responseId: string, what: string) => {
    const signature = Buffer.from(`fake-thought:${responseId}:${what}`).toString('base64');
    issued.add(signature);
    return signature;
  };
  const headers = (): Record<string, string> => ({ 'server-timing': 'gfet4t7; dur=12', vary: 'Origin, X-Origin, Referer' });

  const generate = async (res: ServerResponse, req: RecordedRequest, model: string, stream: boolean) => {
    const body = req.body;
    if (!Array.isArray(body?.contents) || body.contents.length === 0) return sendJson(res, 400, geminiErrorBody(400, '* GenerateContentRequest.contents: contents is not specified'), headers());
    if (body.contents.some((c: any) => c?.role !== 'user' && c?.role !== 'model')) {
      return sendJson(res, 400, geminiErrorBody(400, 'Please use a valid role: user, model.'), headers());
    }
    const configViolation = generationConfigViolation(body.generationConfig, model);
    if (configViolation) return sendJson(res, 400, geminiErrorBody(400, configViolation), headers());
    const toolViolation = toolConfigViolation(body.toolConfig);
    if (toolViolation) return sendJson(res, 400, geminiErrorBody(400, toolViolation), headers());
    if (requiresThoughtSignatures(model)) {
      const violation = signatureViolation(body.contents, issued);
      if (violation) return sendJson(res, 400, violation, headers());
    }
    const answer = await resolveReply(reply, body, DEFAULT_GEMINI_REPLY);
    counter++;
    const text = answer.text ?? '';
    const calls = (answer.toolCalls ?? []).map((c) => ({ name: c.name, args: JSON.parse(argumentsText(c)) as Record<string, unknown> }));
    const prompt = geminiPromptTokens(body);
    const cached = Math.min(answer.usage?.cachedTokens ?? 0, prompt);
    const thoughts = answer.usage?.reasoningTokens ?? countTokens(answer.reasoning ?? '');
    const candidates = countTokens(text) + calls.reduce((s, c) => s + countTokens(JSON.stringify(c.args)), 0);
    const usageMetadata = {
      promptTokenCount: prompt,
      candidatesTokenCount: candidates,
      totalTokenCount: prompt + candidates + thoughts,
      ...(cached > 0 && { cachedContentTokenCount: cached }),
      ...(thoughts > 0 && { thoughtsTokenCount: thoughts }),
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
    };
    const finishReason = answer.finishReason ?? 'STOP';
    const responseId = `fake-gemini-${counter}`;
    // Like the real API: the first functionCall part of a step carries the signature (parallel calls
    // after it none), and Gemini 3, which always thinks, also signs a text-only answer on its last part.
    const callParts = calls.map((call, i) => ({ functionCall: call, ...(i === 0 && { thoughtSignature: sign(responseId, 'call') }) }));
    const textSignature = calls.length === 0 && requiresThoughtSignatures(model) ? sign(responseId, 'text') : undefined;
    const parts: Record<string, unknown>[] = [];
    if (answer.reasoning !== undefined) parts.push({ text: answer.reasoning, thought: true });
    if (text !== '' || calls.length === 0) parts.push({ text, ...(textSignature && { thoughtSignature: textSignature }) });
    parts.push(...callParts);
    const envelope = (candidateParts: unknown[] | undefined, extra: Record<string, unknown>, usage: unknown) => ({
      candidates: [{ content: { parts: candidateParts ?? [], role: 'model' }, index: 0, ...extra }],
      usageMetadata: usage,
      modelVersion: model,
      responseId,
    });
    if (!stream) return sendJson(res, 200, envelope(parts, { finishReason }, usageMetadata), headers());

    // Real servers separate events with CRLF pairs; early chunks carry only the prompt count.
    const early = { promptTokenCount: prompt, totalTokenCount: prompt };
    const frame = (data: unknown) => `data: ${JSON.stringify(data)}\r\n\r\n`;
    const frames: SSEFrame[] = [];
    if (answer.reasoning !== undefined) frames.push({ text: frame(envelope([{ text: answer.reasoning, thought: true }], {}, early)), delta: true });
    for (const piece of splitIntoDeltas(text)) frames.push({ text: frame(envelope([{ text: piece }], {}, early)), delta: true });
    if (calls.length > 0) frames.push({ text: frame(envelope(callParts, {}, early)), delta: true });
    // When streaming, a text answer's signature comes alone on the empty text part of the last chunk.
    frames.push({ text: frame(envelope([{ text: '', ...(textSignature && { thoughtSignature: textSignature }) }], { finishReason }, usageMetadata)) });
    res.writeHead(200, { 'content-type': 'text/event-stream', ...headers() });
    await writeFrames(res, frames, script.takeStreamFault(), (e) => frame({ error: { code: 500, message: e?.message ?? 'An internal error has occurred.', status: e?.type ?? 'INTERNAL' } }));
  };

  const embed = (content: any, request: any): number[] | undefined => {
    const text = (content?.parts ?? []).map((p: any) => p?.text ?? '').join(' ');
    if (typeof text !== 'string') return undefined;
    return fakeEmbedding(text, typeof request?.outputDimensionality === 'number' ? request.outputDimensionality : DEFAULT_FAKE_DIMENSIONS);
  };

  const batchEmbed = (res: ServerResponse, req: RecordedRequest, model: string) => {
    const requests: any[] = Array.isArray(req.body?.requests) ? req.body.requests : [];
    if (requests.length === 0 || requests.length > 100) return sendJson(res, 400, geminiErrorBody(400, '* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch'), headers());
    const mismatch = requests.findIndex((r) => r?.model !== `models/${model}`);
    if (mismatch !== -1) return sendJson(res, 400, geminiErrorBody(400, `* BatchEmbedContentsRequest.requests[${mismatch}].model: model must match the parent model.`), headers());
    sendJson(res, 200, { embeddings: requests.map((r) => ({ values: embed(r.content, r) })) }, headers());
  };

  const server = await startServer(async (_req, res, recorded) => {
    if (serveScriptedFailure(script, res, (failure) => sendJson(res, failure.status, failure.body ?? geminiErrorBody(failure.status), { ...headers(), ...failure.headers }))) return;
    const query = new URLSearchParams(recorded.url.split('?')[1] ?? '');
    const key = recorded.headers['x-goog-api-key'] ?? query.get('key') ?? undefined;
    if (options.apiKey !== undefined) {
      if (key === undefined) return sendJson(res, 403, geminiErrorBody(403), headers());
      if (key !== options.apiKey) return sendJson(res, 400, geminiInvalidKeyBody(), headers());
    }
    const { method, path } = recorded;
    if (method === 'GET' && path === '/v1beta/models') {
      return sendJson(res, 200, { models: models.map((id) => ({ name: `models/${id}`, displayName: id, supportedGenerationMethods: ['generateContent'] })) }, headers());
    }
    const match = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$/.exec(path);
    if (method !== 'POST' || !match) return sendJson(res, 404, geminiErrorBody(404, `Invalid URL (${method} ${path})`), headers());
    const model = decodeURIComponent(match[1] ?? '');
    if (!models.includes(model)) return sendJson(res, 404, geminiErrorBody(404, `models/${model} is not found for API version v1beta, or is not supported for ${match[2]}.`), headers());
    switch (match[2]) {
      case 'generateContent':
        return generate(res, recorded, model, false);
      case 'streamGenerateContent':
        if (query.get('alt') !== 'sse') return sendJson(res, 400, geminiErrorBody(400, 'This fake only streams with alt=sse.'), headers());
        return generate(res, recorded, model, true);
      case 'embedContent':
        return sendJson(res, 200, { embedding: { values: embed(recorded.body?.content, recorded.body) } }, headers());
      default:
        return batchEmbed(res, recorded, model);
    }
  }, script, { port: options.port, host: options.host });
  return { ...server, url: `${server.origin}/v1beta` };
}

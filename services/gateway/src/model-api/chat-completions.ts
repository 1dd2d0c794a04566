import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { openSse, parseWith, writeJson } from '@quire/server-kit';
import { attributionOf } from '../caller-identity.js';
import { clientSignal } from './client-signal.js';
import type { Attribution } from '../ledger.js';
import { assertNoForbiddenFields } from '../forbidden-fields.js';
import { modelErrorResponse } from '../model-errors.js';
import type { ModelService } from '../model-service.js';
import { completionToOpenAI, extraContentToOpenAI, finishReasonToOpenAI, toGenerateOptions, toolCallDeltaToOpenAI, usageToOpenAI } from './translate.js';
import { ChatCompletionBodySchema } from './validators.js';
import { forwardKbChat, isKbModel } from './kb-chat.js';

/** `POST /v1/chat/completions` through express: `kb/<collection>` models, and what the model front hands over. */
export function chatCompletionsHandler(models: ModelService) {
  return async (req: Request, res: Response) => {
    // `kb/<collection>` models are answered with RAG by retrieval (model-api/kb-chat.ts).
    if (isKbModel(req.body)) return forwardKbChat(req, res);
    await chatCompletions(models, req.body, attributionOf(req, res), res);
  };
}

/** `POST /v1/chat/completions`, OpenAI-compatible, streaming included. */
export async function chatCompletions(models: ModelService, raw: unknown, attribution: Attribution, res: ServerResponse): Promise<void> {
  assertNoForbiddenFields(raw);
  const body = parseWith(ChatCompletionBodySchema, raw);
  const options = toGenerateOptions(body);
  const id = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
  const created = Math.floor(Date.now() / 1000);

  const signal = clientSignal(res);
  if (!body.stream) {
    const result = await models.generate(body.model, options, attribution, signal);
    writeJson(res, 200, completionToOpenAI(id, body.model, created, result));
    return;
  }

  // Fallback and retries happen inside stream() until the first part arrives; errors before that
  // still answer with a normal JSON error and status.
  const session = await models.stream(body.model, options, attribution, signal);
  const sse = openSse(res, { flushHeaders: false });
  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (choices: unknown[], usage: unknown = null) => ({
    id, object: 'chat.completion.chunk', created, model: body.model, choices, ...(includeUsage ? { usage } : {}),
  });
  sse.send(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
  try {
    for await (const part of session.parts) {
      if (sse.closed) break;
      if (part.type === 'text-delta') {
        sse.send(chunk([{ index: 0, delta: { content: part.text }, logprobs: null, finish_reason: null }]));
      } else if (part.type === 'reasoning-delta') {
        sse.send(chunk([{ index: 0, delta: { reasoning_content: part.text }, logprobs: null, finish_reason: null }]));
      } else if (part.type === 'tool-call-delta') {
        sse.send(chunk([{ index: 0, delta: { tool_calls: [toolCallDeltaToOpenAI(part)] }, logprobs: null, finish_reason: null }]));
      } else if (part.type === 'finish') {
        sse.send(chunk([{ index: 0, delta: { ...extraContentToOpenAI(part.providerMetadata) }, logprobs: null, finish_reason: finishReasonToOpenAI(part.finishReason) }]));
        if (includeUsage) sse.send(chunk([], usageToOpenAI(part.usage)));
      }
      // Not pulling the next part while the client's socket is full leaves the provider's bytes
      // unread, so TCP slows the provider to the client's pace instead of this process buffering.
      const full = sse.ready();
      if (full) await full;
    }
    sse.sendRaw('[DONE]');
  } catch (error) {
    // Past the first byte the status is already 200: the error travels in the stream, the way
    // OpenAI's SDK expects (a data payload with a top-level `error`).
    sse.send(modelErrorResponse(error, attribution.traceId).body);
  }
  sse.end();
}

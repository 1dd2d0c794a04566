import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { GenerateResultV1, StreamPartV1 } from '@quire/models';
import { AppError, openSse, parseWith, toErrorResponse, writeJson, type SseWriter } from '@quire/server-kit';
import { attributionOf } from '../caller-identity.js';
import { assertNoForbiddenFields } from '../forbidden-fields.js';
import type { Attribution } from '../ledger.js';
import type { ModelService } from '../model-service.js';
import { clientSignal } from './client-signal.js';
import { ResponsesBodySchema, type ResponsesBody } from './responses-schema.js';
import {
  incompleteReason, newId, outputText, responseObject, toGenerateOptions,
  type OutputFunctionCall, type OutputItem, type OutputMessage,
} from './responses-translate.js';

/**
 * `POST /v1/responses`, OpenAI's Responses API over the same model service as the chat endpoint:
 * the same validation rules, routing, fallback, retries, governance and ledger rows (one per
 * attempt), only another wire format. Stateless: `store` is accepted but nothing is kept, so
 * `previous_response_id`, `conversation` and `background` are refused and every answer says
 * `store: false`; a client continues a conversation by sending it whole, earlier output items and
 * `function_call_output` items included.
 */
export function responsesHandler(models: ModelService) {
  return (req: Request, res: Response) => responses(models, req.body, attributionOf(req, res), res);
}

export async function responses(models: ModelService, raw: unknown, attribution: Attribution, res: ServerResponse): Promise<void> {
  assertNoForbiddenFields(raw);
  const body = parseWith(ResponsesBodySchema, raw);
  const options = toGenerateOptions(body);
  const meta = { id: newId('resp'), createdAt: Math.floor(Date.now() / 1000) };
  const signal = clientSignal(res);
  if (!body.stream) {
    const result = await models.generate(body.model, options, attribution, signal);
    writeJson(res, 200, completedResponse(body, meta, result));
    return;
  }
  // Fallback and retries happen inside stream() until the first part arrives; errors before that
  // still answer with a normal JSON error and status, as on the chat endpoint.
  const session = await models.stream(body.model, options, attribution, signal);
  await streamResponse(body, meta, session.parts, openSse(res, { flushHeaders: false }), attribution.traceId);
}

function completedResponse(body: ResponsesBody, meta: { id: string; createdAt: number }, result: GenerateResultV1) {
  const incomplete = incompleteReason(result.finishReason);
  const status = incomplete ? 'incomplete' : 'completed';
  const output: OutputItem[] = [];
  if (result.text !== '' || result.toolCalls.length === 0) {
    output.push({ id: newId('msg'), type: 'message', status, role: 'assistant', content: [outputText(result.text)] });
  }
  for (const call of result.toolCalls) {
    output.push({ id: newId('fc'), type: 'function_call', status, arguments: call.arguments, call_id: call.id, name: call.name });
  }
  return responseObject(body, meta, { status, output, usage: result.usage, incomplete });
}

/** The code a `response.failed` carries: the SDK types know these two for a failure like ours. */
function failure(error: unknown, traceId: string) {
  const { status, body } = toErrorResponse(error, traceId);
  return { code: status === 429 ? 'rate_limit_exceeded' : 'server_error', message: body.error.message, type: body.error.type };
}

/**
 * The stream in OpenAI's event order: `response.created`, `response.in_progress`, then per output
 * item `output_item.added`, its content (`content_part.added`, `output_text.delta`...,
 * `output_text.done`, `content_part.done`, or `function_call_arguments.delta`...,
 * `function_call_arguments.done`), `output_item.done`; last `response.completed` or
 * `response.incomplete` with the whole response and its usage. A failure past the first byte ends
 * the stream with `response.failed` (whose `response.error` says what went wrong) and an `error` event.
 */
export async function streamResponse(body: ResponsesBody, meta: { id: string; createdAt: number }, parts: AsyncIterable<StreamPartV1>, sse: SseWriter, traceId: string) {
  let sequence = 0;
  const emit = (type: string, fields: Record<string, unknown>) => sse.send({ type, sequence_number: sequence++, ...fields }, type);
  const output: OutputItem[] = [];
  /** The message being written, if any. */
  let message: { item: OutputMessage; index: number } | undefined;
  /** Output index of each streamed tool call, by the stream's tool-call index. */
  const calls = new Map<number, number>();

  const added = (item: OutputItem): number => {
    output.push(item);
    emit('response.output_item.added', { output_index: output.length - 1, item });
    return output.length - 1;
  };
  const closeMessage = (status: 'completed' | 'incomplete') => {
    if (!message) return;
    const { item, index } = message;
    message = undefined;
    item.status = status;
    const text = item.content[0]!.text;
    emit('response.output_text.done', { item_id: item.id, output_index: index, content_index: 0, text, logprobs: [] });
    emit('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part: outputText(text) });
    emit('response.output_item.done', { output_index: index, item });
  };
  // Function calls are done only when the answer is: providers may interleave the fragments of
  // parallel calls, and a call's `done` must carry its whole arguments, with no delta after it.
  const closeCalls = (status: 'completed' | 'incomplete') => {
    for (const index of calls.values()) {
      const item = output[index] as OutputFunctionCall;
      item.status = status;
      emit('response.function_call_arguments.done', { item_id: item.id, output_index: index, arguments: item.arguments });
      emit('response.output_item.done', { output_index: index, item });
    }
    calls.clear();
  };
  const openMessage = () => {
    const item: OutputMessage = { id: newId('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    const index = added(item);
    emit('response.content_part.added', { item_id: item.id, output_index: index, content_index: 0, part: outputText('') });
    item.content.push(outputText(''));
    message = { item, index };
  };
  const text = (delta: string) => {
    if (delta === '') return;
    if (!message) openMessage();
    const { item, index } = message!;
    item.content[0]!.text += delta;
    emit('response.output_text.delta', { item_id: item.id, output_index: index, content_index: 0, delta, logprobs: [] });
  };
  const toolCall = (part: Extract<StreamPartV1, { type: 'tool-call-delta' }>) => {
    let index = calls.get(part.index);
    if (index === undefined) {
      closeMessage('completed');
      index = added({ id: newId('fc'), type: 'function_call', status: 'in_progress', arguments: '', call_id: part.id ?? newId('call'), name: part.name ?? '' });
      calls.set(part.index, index);
    }
    const item = output[index] as OutputFunctionCall;
    item.arguments += part.argumentsDelta;
    if (part.argumentsDelta !== '') emit('response.function_call_arguments.delta', { item_id: item.id, output_index: index, delta: part.argumentsDelta });
  };

  const inProgress = () => responseObject(body, meta, { status: 'in_progress', output: [] });
  emit('response.created', { response: inProgress() });
  emit('response.in_progress', { response: inProgress() });
  let finished = false;
  try {
    // Reasoning deltas are not relayed (no reasoning items here); their tokens are in the usage.
    for await (const part of parts) {
      if (sse.closed) break;
      if (part.type === 'text-delta') text(part.text);
      else if (part.type === 'tool-call-delta') toolCall(part);
      else if (part.type === 'finish') {
        const incomplete = incompleteReason(part.finishReason);
        const status = incomplete ? 'incomplete' : 'completed';
        if (output.length === 0) openMessage();
        closeMessage(status);
        closeCalls(status);
        emit(`response.${status}`, { response: responseObject(body, meta, { status, output, usage: part.usage, incomplete }) });
        finished = true;
      }
      // As on the chat endpoint: a client whose socket is full is not fed, so the provider is not read.
      const full = sse.ready();
      if (full) await full;
    }
    if (!finished && !sse.closed) throw new AppError('provider_bad_response', 'The provider\'s stream ended before its answer was finished.');
  } catch (error) {
    // Past the first byte the status is already 200: the failure travels as the stream's last event.
    for (const item of output) if (item.status === 'in_progress') item.status = 'incomplete';
    // `response.failed` carries the failed response (what the openai SDK's stream helper reads);
    // the `error` event after it is what clients that ignore `response.failed` (the Vercel AI SDK)
    // and the openai SDK's raw stream turn into a thrown error.
    const reason = failure(error, traceId);
    emit('response.failed', { response: responseObject(body, meta, { status: 'failed', output, error: reason }) });
    emit('error', { code: reason.code, message: reason.message, param: null });
  }
  sse.end();
}

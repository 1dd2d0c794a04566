import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { z } from 'zod';
import { AnswerBodySchema, samplingOptionsOf } from '@quire/contracts';
import { ProviderError } from '@quire/models';
import { AppError, ctx, handle, openSse, paramsOf, parseWith, toErrorResponse, type ErrorResponse, type Logger, type SseStream, exactRouter } from '@quire/server-kit';
import { answerQuestion, requireGenerationModel } from '../answer/answer-pipeline.js';
import type { Turn } from '../answer/conversation.js';
import { INSTRUCTIONS_MAX } from '../answer/prompt.js';
import { findCollectionByIdOrName } from '../collections/collection-repository.js';
import { isAbort, toAppErrorOrInternal } from '../errors.js';
import type { SearchDeps } from '../search/search-pipeline.js';
import { KbChatBodySchema, type KbChatContent, type KbChatMessage } from './kb-chat-options.js';

/** `:id` is a collection's id or its name (findCollectionByIdOrName). */
const CollectionRefParams = z.object({ id: z.string().min(1) });

/** Whether the message has one of `roles` (and so the content those roles have). */
function isRole<const R extends KbChatMessage['role']>(message: KbChatMessage, ...roles: R[]): message is Extract<KbChatMessage, { role: R }> {
  return (roles as string[]).includes(message.role);
}

/**
 * A message's text; KbChatBodySchema let only text and an assistant's refusal parts through. Parts are
 * separate blocks of text (OpenAI's reading), so two parts that meet without whitespace get a space
 * between them: "laptop" + "warranty?" must not become "laptopwarranty?" for the search. A space, not
 * a newline, keeps the question on the one line it has in the prompt ("Question: ...") and in the
 * rewrite's transcript ("User: ..."). Instructions, blocks of lines anyway, get a newline (below).
 */
function text(content: KbChatContent | undefined, separator = ' '): string {
  if (typeof content === 'string') return content;
  return (content ?? [])
    .map((p) => (typeof p.text === 'string' ? p.text : typeof p.refusal === 'string' ? p.refusal : ''))
    .reduce((joined, part) => (joined && part && !/\s$/.test(joined) && !/^\s/.test(part) ? `${joined}${separator}${part}` : joined + part), '');
}

/**
 * `POST /v1/collections/:id/chat` (`:id` is an id or a name): OpenAI chat in, OpenAI chat out, with
 * RAG. The last user message is the question and earlier turns rewrite it; the answer carries its
 * citations in `choices[0].message.citations` (JSON) or in the last chunk's `citations` (SSE),
 * fields OpenAI clients ignore. The gateway sends `model: "kb/<collection>"` here.
 */
export function chatRoutes(deps: SearchDeps, logger: Logger): Router {
  const router = exactRouter();
  router.post(
    '/v1/collections/:id/chat',
    handle(async (req, res) => {
      const body = parseWith(KbChatBodySchema, req.body);
      const { identity, identityToken, traceId } = ctx(res);
      const collection = await findCollectionByIdOrName(deps.db, identity.team_id, decodeURIComponent(paramsOf(req, CollectionRefParams).id), { grants: true });
      requireGenerationModel(collection);
      const turns: Turn[] = body.messages.filter((m) => isRole(m, 'user', 'assistant')).map((m) => ({ role: m.role, content: text(m.content) }));
      const last = turns.at(-1);
      if (!last || last.role !== 'user' || !last.content.trim()) throw new AppError('invalid_request', 'The last message must be a user message with text.', { param: 'messages' });
      // Refused when too long, as /answer refuses it: cutting it kept the start of a pasted text and lost the question after it.
      if (last.content.length > 4000) {
        throw new AppError('invalid_request', `The last user message is ${last.content.length} characters; a knowledge-base question may have at most 4000.`, { param: 'messages' });
      }
      const answerBody = parseWith(AnswerBodySchema, { question: last.content });
      // System and developer messages set language, tone and format (the answer's rules stay ours).
      // Chat front ends send long default system prompts with every request, and those worked before
      // instructions were passed on: past INSTRUCTIONS_MAX they are cut, not refused.
      const instructions = body.messages
        .filter((m) => isRole(m, 'system', 'developer'))
        .map((m) => text(m.content, '\n').trim())
        .filter(Boolean)
        .join('\n')
        .slice(0, INSTRUCTIONS_MAX);
      const queryId = randomUUID();
      const abort = new AbortController();
      const id = `chatcmpl-${queryId.replace(/-/g, '')}`;
      const created = Math.floor(Date.now() / 1000);
      const input = {
        collection,
        body: answerBody,
        identity,
        queryId,
        history: turns.slice(0, -1),
        ...(instructions ? { instructions } : {}),
        // The answering call's length, stop and sampling, read as the gateway's toGenerateOptions reads them.
        generation: samplingOptionsOf(body),
        call: { identityToken, traceId, collectionId: collection.id, queryId },
        abortSignal: abort.signal,
      };
      res.setHeader('x-quire-query-id', queryId);
      // A caller that goes away stops the generation; the gateway meters what was produced.
      res.on('close', () => {
        if (!res.writableFinished) abort.abort();
      });
      /** An error before any byte went out, answered with its HTTP status and headers (retry-after) as the error middleware would. */
      const fail = (error: unknown) => {
        // A provider's code for a request's fault is answered here, in the model API's shape; the rest goes to the error middleware.
        if (!AppError.is(error) || providerCodeOf(error) === undefined) throw error;
        const { status, body: errorBody, headers } = kbChatErrorResponse(error, traceId);
        res.set(headers).status(status).json(errorBody);
      };
      const usage = (u: Awaited<ReturnType<typeof answerQuestion>>['usage']) => ({
        prompt_tokens: usageTokens(u, 'input_tokens'),
        completion_tokens: usageTokens(u, 'output_tokens'),
        total_tokens: usageTokens(u, 'input_tokens') + usageTokens(u, 'output_tokens'),
      });
      if (!body.stream) {
        let result: Awaited<ReturnType<typeof answerQuestion>>;
        try {
          result = await answerQuestion(deps, input);
        } catch (error) {
          fail(error);
          return;
        }
        res.json({
          id,
          object: 'chat.completion',
          created,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: result.answer, refusal: null, citations: result.citations }, logprobs: null, finish_reason: result.finish_reason ?? 'stop' }],
          usage: usage(result.usage),
          query_id: queryId,
        });
        return;
      }
      // The stream opens with the answer's first piece: until then (rewrite, retrieval, the answering
      // call's start) an error is a plain HTTP error with its status and headers, as the JSON answer's
      // is, so a provider's 429 reaches an SDK as a 429 with its retry-after, not as an event after a 200.
      let sse = undefined as SseStream | undefined;
      const chunk = (delta: unknown, finish: string | null, extra: Record<string, unknown> = {}) => ({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra });
      const open = (): SseStream => {
        if (sse) return sse;
        sse = openSse(res);
        sse.send(chunk({ role: 'assistant', content: '' }, null));
        return sse;
      };
      try {
        const result = await answerQuestion(deps, {
          ...input,
          sink: (event, data) => {
            if (event !== 'delta') return undefined;
            const stream = open();
            stream.send(chunk({ content: (data as { text: string }).text }, null));
            return stream.ready();
          },
        });
        const stream = open();
        stream.send(chunk({}, result.finish_reason ?? 'stop', { citations: result.citations, query_id: queryId }));
        if (body.stream_options?.include_usage) stream.send({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage: usage(result.usage) });
        stream.sendRaw('[DONE]');
      } catch (error) {
        if (!sse) {
          fail(error);
          return;
        }
        if (sse.closed || isAbort(error, abort.signal)) {
          logger.info('kb chat cancelled by the caller', { trace_id: traceId, query_id: queryId });
        } else {
          const { body: errorBody } = kbChatErrorResponse(toAppErrorOrInternal(error), traceId);
          sse.send(errorBody);
        }
      } finally {
        sse?.end();
      }
    }),
  );
  return router;
}

/**
 * The provider's OpenAI-style code for a request's fault (`context_length_exceeded`), where the gateway
 * passed one on for a model call made for this chat: the gateway puts it in `code` with its own code as
 * `quire_code` (model-errors.ts modelErrorResponse), and the gateway client restores Quire's code and
 * keeps the gateway's answer as a ProviderError on `cause`, whose `providerCode` is kept only for a
 * request's fault outside the account's (ProviderError). A body without `quire_code` is the gateway's
 * own error, whose `code` is already Quire's.
 */
function providerCodeOf(error: AppError): string | undefined {
  const answer = error.cause;
  if (!ProviderError.is(answer)) return undefined;
  const quireCode = (answer.providerBody as { error?: { quire_code?: unknown } } | undefined)?.error?.quire_code;
  return quireCode === error.code ? answer.providerCode : undefined;
}

/**
 * The kb chat's error body in the gateway's model-API shape, so a `kb/` chat answers a provider's
 * request fault as a plain chat does: the provider's code as `code`, Quire's as `quire_code`. The
 * provider's `param` is not passed on: it points into the prompt retrieval built (retrieved passages,
 * rewritten question), not into the request the caller sent.
 */
export function kbChatErrorResponse(error: AppError, traceId: string): ErrorResponse & { body: { error: ErrorResponse['body']['error'] & { quire_code?: string } } } {
  const response = toErrorResponse(error, traceId);
  const providerCode = providerCodeOf(error);
  if (providerCode === undefined) return response;
  return { ...response, body: { ...response.body, error: { ...response.body.error, code: providerCode, quire_code: response.body.error.code } } };
}

/** The chat model's own calls: what an OpenAI client reads `usage` as (embedding and rerank tokens are in the query's cost, not here). */
const CHAT_STAGES = ['generate', 'rewrite'];

export function usageTokens(usage: { by_stage: Record<string, { input_tokens: number; output_tokens: number }> }, key: 'input_tokens' | 'output_tokens'): number {
  return CHAT_STAGES.reduce((n, stage) => n + (usage.by_stage[stage]?.[key] ?? 0), 0);
}

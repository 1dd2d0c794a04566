import type { AnswerBody, AnswerResponse, Citation, Identity } from '@quire/contracts';
import type { GatewayCallContext } from '@quire/gateway-client';
import type { FinishReasonV1, GenerateOptionsV1 } from '@quire/models';
import { AppError } from '@quire/server-kit';
import type { CollectionForQuery } from '../collections/collection-repository.js';
import { isAbort, toAppErrorOrInternal } from '../errors.js';
import { insertQuery, type QueryStatus } from '../queries/query-repository.js';
import { runMultiSearch, type RetrievalTrace, type RetrievedChunk, type SearchDeps } from '../search/search-pipeline.js';
import { appendTurns, loadHistory, newConversationId, rewriteFollowUp, type Turn } from './conversation.js';
import { usageForQuery } from '../usage/ledger-usage.js';
import { CitationStreamFilter, extractCitations, rewriteMarkers } from './citations.js';
import { sanitizeAnswer, urlsIn, type LinkPolicy } from './output-safety.js';
import { BREAK, SafeMarkdownStream, type SafePiece } from './safe-markdown-stream.js';
import { buildPrompt, estimateTokens, isRefusal, NO_ANSWER, sourceBudgetFor } from './prompt.js';
import { relevantSources } from './relevant-sources.js';
import { TrimStream } from './trim-stream.js';

/**
 * Receives streaming events; absent for a plain JSON answer. A promise it returns (a slow reader's
 * socket is full) holds the generation until it resolves: the model's stream is not read meanwhile.
 * It resolves when the socket drains or closes and never rejects, so the small events that need no
 * such wait (retrieval, citations, usage) do not await it.
 */
export type AnswerEventSink = (event: 'retrieval' | 'delta' | 'citations' | 'usage', data: unknown) => void | Promise<void>;

export interface AnswerInput {
  collection: CollectionForQuery;
  /** Multi-collection answers: every collection searched (`collection` is the first, whose model answers). */
  collections?: CollectionForQuery[];
  body: AnswerBody;
  identity: Identity;
  queryId: string;
  call: Omit<GatewayCallContext, 'purpose'>;
  abortSignal: AbortSignal;
  sink?: AnswerEventSink;
  /** History carried by the caller (OpenAI messages): used for the rewrite, nothing is stored. */
  history?: Turn[];
  /** The caller's own instructions (a chat request's system messages), at most INSTRUCTIONS_MAX characters. */
  instructions?: string;
  /** A chat request's sampling and length settings, for the call that answers (not the follow-up rewrite). */
  generation?: AnswerGenerationSettings;
}

/** What a caller may set on the answering model call (kb/ chat: `max_tokens`, `stop`, `temperature`...). */
export type AnswerGenerationSettings = Pick<
  GenerateOptionsV1,
  'maxOutputTokens' | 'temperature' | 'topP' | 'stop' | 'seed' | 'presencePenalty' | 'frequencyPenalty' | 'logitBias' | 'reasoningEffort' | 'verbosity'
>;

/** Why the answer ended, in OpenAI's words: `length` when the model hit its output limit (the answer is cut). */
export type AnswerFinishReason = NonNullable<AnswerResponse['finish_reason']>;

/** No tools are offered, so `tool_calls` cannot happen; `error` and `other` read as `stop`, as the gateway's chat reads them. */
function finishReasonOf(reason: FinishReasonV1 | undefined): AnswerFinishReason {
  return reason === 'length' || reason === 'content_filter' ? reason : 'stop';
}

/** The model said the sources do not hold the answer (or was not called because nothing was found). */
export function isNoAnswer(answer: string): boolean {
  return isRefusal(answer, 'answer');
}

const since = (start: number) => Math.round((performance.now() - start) * 100) / 100;

export function requireGenerationModel(collection: CollectionForQuery): string {
  if (!collection.generationModel) {
    throw new AppError(
      'no_generation_model',
      `Collection ${collection.id} has no generation model; set one to get answers (PATCH /v1/collections/${collection.id} {"generation_model": "provider/model"}, a model from GET /v1/models), or use search.`,
    );
  }
  return collection.generationModel;
}

export function snippet(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

/**
 * Retrieve, prompt, generate, cite, record. The query row is written whatever happens (ok, error,
 * or cancelled when the caller went away), with what was produced so far.
 */
export async function answerQuestion(deps: SearchDeps, input: AnswerInput): Promise<AnswerResponse> {
  const { collection, body, sink } = input;
  const collections = input.collections ?? [collection];
  const generationModel = requireGenerationModel(collection);
  const conversationId = body.conversation_id ?? newConversationId();
  let question = body.question;
  const start = performance.now();
  const timings: Record<string, number> = {};
  let mode: AnswerBody['mode'] | null = null;
  let sources: RetrievedChunk[] = [];
  let answer = '';
  let citations: Citation[] = [];
  let finishReason: AnswerFinishReason = 'stop';
  let status: QueryStatus = 'ok';
  let promptTokens: number | null = null;
  let models: Record<string, string | null> = { embedding: collection.embeddingModel };
  let trace: RetrievalTrace | undefined;
  /** The stored queries whose turns the rewrite saw (none for a history the caller sent). */
  let rewrittenFrom: string[] = [];

  const record = async () => {
    timings.total = since(start);
    await insertQuery(deps.db, {
      id: input.queryId,
      identity: input.identity,
      collectionId: collection.id,
      collectionIds: collections.map((c) => c.id),
      conversationId,
      rewrittenQuery: question === body.question ? null : question,
      rewrittenFrom,
      kind: 'answer',
      query: body.question,
      mode: mode ?? null,
      status,
      answer,
      results: sources,
      citations,
      timings,
      models: { ...models, generation: generationModel },
      promptTokens,
      noAnswer: status === 'ok' ? isNoAnswer(answer) : null,
      ...(trace ? { trace: { ...trace, in_context: sources.map((x) => x.chunkId) } } : {}),
    });
  };

  try {
    if (body.conversation_id || input.history) {
      const history = input.history ?? (await loadHistory(deps.db, input.identity, body.conversation_id!));
      rewrittenFrom = history.flatMap((t) => (t.queryId ? [t.queryId] : []));
      const rewriteStart = performance.now();
      question = await rewriteFollowUp(deps.models, generationModel, input.call, history, body.question, input.abortSignal);
      if (history.length > 0) timings.rewrite = since(rewriteStart);
    }
    const retrieveStart = performance.now();
    const search = await runMultiSearch(deps, {
      collections,
      query: question,
      topK: body.top_k,
      ...(body.mode ? { mode: body.mode } : {}),
      filters: { ...body.filters, accessGroups: input.identity.groups },
      ...(body.preset ? { preset: body.preset } : {}),
      ...(body.fusion ? { fusion: body.fusion } : {}),
      ...(body.rerank !== undefined ? { rerank: body.rerank } : {}),
      call: input.call,
      abortSignal: input.abortSignal,
    });
    mode = search.mode;
    timings.retrieve = since(retrieveStart);
    for (const key of ['embed', 'search', 'rerank'] as const) if (search.timings[key] !== undefined) timings[key] = search.timings[key]!;
    models = { ...models, ...search.models };
    trace = search.trace;
    // Sources of no relevance stay out of the prompt (numbered there, so citations follow); none left
    // is the same as nothing found.
    const prompt = buildPrompt(question, relevantSources(search.results), sourceBudgetFor(generationModel, `${body.question} ${question} ${input.instructions ?? ''}`), {
      asked: body.question,
      ...(input.instructions ? { instructions: input.instructions } : {}),
    });
    sources = prompt.sources;
    promptTokens = prompt.messages.reduce((n, m) => n + estimateTokens(typeof m.content === 'string' ? m.content : JSON.stringify(m.content)), 0);
    const policy: LinkPolicy = { sourceUrls: urlsIn(sources.map((x) => x.text)), allowedHosts: deps.answerLinkHosts ?? [] };
    void sink?.('retrieval', {
      query_id: input.queryId,
      conversation_id: conversationId,
      ...(question !== body.question ? { rewritten_query: question } : {}),
      mode: search.mode,
      sources: sources.map((s, i) => ({
        index: i + 1,
        chunk_id: s.chunkId,
        document_id: s.documentId,
        document_title: s.documentTitle,
        page_start: s.pageStart,
        page_end: s.pageEnd,
        heading_path: s.headingPath,
        score: s.score,
        ...(s.collectionId ? { collection_id: s.collectionId } : {}),
        snippet: snippet(s.text),
      })),
    });

    if (sources.length === 0) {
      // Nothing to ground an answer in: a model would only guess, so it is not called at all.
      answer = NO_ANSWER;
      await sink?.('delta', { text: answer });
    } else {
      const model = deps.models.generationModel(generationModel, { ...input.call, purpose: 'generate' });
      const generateStart = performance.now();
      const options: GenerateOptionsV1 = { ...input.generation, messages: prompt.messages, abortSignal: input.abortSignal };
      if (sink) {
        const filter = new CitationStreamFilter(sources.length);
        const safe = new SafeMarkdownStream(policy);
        // Deltas add up to the trimmed answer, as stored and as a plain JSON answer has it, but for
        // the BREAKs the stream puts between pieces that could join: those go to the client, which
        // renders the deltas together, and never into the answer (stored, cited, returned).
        const trim = new TrimStream();
        const release = (piece: SafePiece): string => {
          const text = trim.push(piece.text);
          answer += text;
          return piece.breakAfter && answer !== '' ? text + BREAK : text;
        };
        const { stream } = await model.doStream(options);
        for await (const part of stream) {
          if (part.type === 'finish') finishReason = finishReasonOf(part.finishReason);
          if (part.type !== 'text-delta') continue;
          if (timings.first_token === undefined) timings.first_token = since(start);
          const shown = release(safe.pushPiece(filter.push(part.text)));
          const full = shown ? sink('delta', { text: shown }) : undefined;
          if (full) await full;
        }
        const rest = release(safe.pushPiece(filter.flush())) + release({ text: safe.flush(), breakAfter: false });
        trim.flush();
        if (rest) await sink('delta', { text: rest });
        // The pieces were made safe one by one; joined without the breaks that kept them apart on the
        // wire, they are checked once more, so what is stored and later sent back to a model is safe whole.
        answer = sanitizeAnswer(answer, policy);
      } else {
        const result = await model.doGenerate(options);
        finishReason = finishReasonOf(result.finishReason);
        answer = sanitizeAnswer(rewriteMarkers(result.text, sources.length), policy);
      }
      timings.generate = since(generateStart);
      answer = answer.trim();
      citations = extractCitations(answer, sources);
    }
  } catch (error) {
    status = isAbort(error, input.abortSignal) ? 'cancelled' : 'error';
    await record().catch(() => undefined);
    throw status === 'cancelled' ? error : toAppErrorOrInternal(error);
  }

  await record();
  if (!input.history) await appendTurns(deps.db, input.identity, conversationId, collections.map((c) => c.id), input.queryId, body.question, answer);
  const usage = await usageForQuery(deps.db, input.queryId);
  void sink?.('citations', { citations });
  void sink?.('usage', { usage });
  return {
    query_id: input.queryId,
    answer,
    citations,
    no_answer: isNoAnswer(answer),
    finish_reason: finishReason,
    conversation_id: conversationId,
    ...(question !== body.question ? { rewritten_query: question } : {}),
    usage,
    timings_ms: timings,
  };
}

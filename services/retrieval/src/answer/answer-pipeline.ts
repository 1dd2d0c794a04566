import type { AnswerBody, AnswerResponse, Citation, Identity } from '@quire/contracts';
import type { GatewayCallContext } from '@quire/gateway-client';
import { AppError } from '@quire/server-kit';
import type { CollectionForQuery } from '../collections/collection-repository.js';
import { isAbort, toAppError } from '../errors.js';
import { insertQuery, type QueryStatus } from '../queries/query-repository.js';
import { runSearch, type RetrievedChunk, type SearchDeps } from '../search/search-pipeline.js';
import { usageForQuery } from '../usage/ledger-usage.js';
import { CitationStreamFilter, extractCitations, rewriteMarkers } from './citations.js';
import { buildPrompt, NO_ANSWER } from './prompt.js';

/** Receives streaming events; absent for a plain JSON answer. */
export type AnswerEventSink = (event: 'retrieval' | 'delta' | 'citations' | 'usage', data: unknown) => void;

export interface AnswerInput {
  collection: CollectionForQuery;
  body: AnswerBody;
  identity: Identity;
  queryId: string;
  call: Omit<GatewayCallContext, 'purpose'>;
  abortSignal: AbortSignal;
  sink?: AnswerEventSink;
}

const since = (start: number) => Math.round((performance.now() - start) * 100) / 100;

export function requireGenerationModel(collection: CollectionForQuery): string {
  if (!collection.generationModel) {
    throw new AppError('no_generation_model', `Collection ${collection.id} has no generation model; set one to get answers, or use search.`);
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
  const generationModel = requireGenerationModel(collection);
  const start = performance.now();
  const timings: Record<string, number> = {};
  let mode: AnswerBody['mode'] | null = null;
  let sources: RetrievedChunk[] = [];
  let answer = '';
  let citations: Citation[] = [];
  let status: QueryStatus = 'ok';

  const record = async () => {
    timings.total = since(start);
    await insertQuery(deps.db, {
      id: input.queryId,
      identity: input.identity,
      collectionId: collection.id,
      kind: 'answer',
      query: body.question,
      mode: mode ?? null,
      status,
      answer,
      results: sources,
      citations,
      timings,
      models: { embedding: collection.embeddingModel, generation: generationModel },
    });
  };

  try {
    const retrieveStart = performance.now();
    const search = await runSearch(deps, {
      collection,
      query: body.question,
      topK: body.top_k,
      ...(body.mode ? { mode: body.mode } : {}),
      ...(body.filters ? { filters: body.filters } : {}),
      call: input.call,
      abortSignal: input.abortSignal,
    });
    mode = search.mode;
    timings.retrieve = since(retrieveStart);
    const prompt = buildPrompt(body.question, search.results);
    sources = prompt.sources;
    sink?.('retrieval', {
      query_id: input.queryId,
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
        snippet: snippet(s.text),
      })),
    });

    if (sources.length === 0) {
      // Nothing to ground an answer in: a model would only guess, so it is not called at all.
      answer = NO_ANSWER;
      sink?.('delta', { text: answer });
    } else {
      const model = deps.models.generationModel(generationModel, { ...input.call, purpose: 'generate' });
      const generateStart = performance.now();
      if (sink) {
        const filter = new CitationStreamFilter(sources.length);
        const { stream } = await model.doStream({ messages: prompt.messages, abortSignal: input.abortSignal });
        for await (const part of stream) {
          if (part.type !== 'text-delta') continue;
          if (timings.first_token === undefined) timings.first_token = since(start);
          const text = filter.push(part.text);
          answer += text;
          if (text) sink('delta', { text });
        }
        const rest = filter.flush();
        answer += rest;
        if (rest) sink('delta', { text: rest });
      } else {
        const result = await model.doGenerate({ messages: prompt.messages, abortSignal: input.abortSignal });
        answer = rewriteMarkers(result.text, sources.length);
      }
      timings.generate = since(generateStart);
      answer = answer.trim();
      citations = extractCitations(answer, sources);
    }
  } catch (error) {
    status = isAbort(error, input.abortSignal) ? 'cancelled' : 'error';
    await record().catch(() => undefined);
    throw status === 'cancelled' ? error : toAppError(error);
  }

  await record();
  const usage = await usageForQuery(deps.db, input.queryId);
  sink?.('citations', { citations });
  sink?.('usage', { usage });
  return { query_id: input.queryId, answer, citations, usage, timings_ms: timings };
}

import type { GatewayModels } from '@quire/gateway-client';
import { emptyUsage, type GenerateOptionsV1, type GenerationModelV1 } from '@quire/models';
import { HISTORY_CHARS, HISTORY_TURN_CHARS, HISTORY_TURNS, looksLikeQuery, recentHistory, rewriteFollowUp, type Turn } from './conversation.js';
import { NO_ANSWER } from './prompt.js';
import { isNoAnswer } from './answer-pipeline.js';

/** Gateway models whose generation model records the prompts it gets; nothing else is called. */
function recordingModels(prompts: GenerateOptionsV1[]): GatewayModels {
  const unused = (): never => {
    throw new Error('not used');
  };
  const generation = (name: string): GenerationModelV1 => ({
    specificationVersion: 'v1',
    provider: 'fake',
    modelId: name,
    async doGenerate(options) {
      prompts.push(options);
      return { text: 'harbour opening hours', toolCalls: [], finishReason: 'stop', usage: emptyUsage() };
    },
    doStream: unused,
  });
  return { embeddingModel: unused, rerankingModel: unused, generationModel: generation };
}

const call = { identityToken: 'token', traceId: 'trace' };
const turns = (n: number, size: number): Turn[] => Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} `.padEnd(size, 'x') }));

describe('the history a rewrite sees', () => {
  test('an OpenAI client\'s 400 messages give a prompt no longer than a stored conversation\'s', async () => {
    const prompts: GenerateOptionsV1[] = [];
    const rewritten = await rewriteFollowUp(recordingModels(prompts), 'fake/gen', call, turns(400, 1500), 'and when does it open?');
    expect(rewritten).toBe('harbour opening hours');
    const prompt = String(prompts[0]!.messages[1]!.content);
    expect(prompt.length).toBeLessThan(HISTORY_CHARS + 500);
    // The most recent turns are the ones a follow-up refers to.
    expect(prompt).toContain('turn 399 ');
    expect(prompt).not.toContain('turn 0 ');
    expect(prompt).toContain('Last user question: and when does it open?');
  });

  test('keeps the last turns, each cut, newest first into the character budget', () => {
    const short = recentHistory(turns(20, 50));
    expect(short).toHaveLength(HISTORY_TURNS);
    expect(short[0]!.content.startsWith('turn 12 ')).toBe(true);
    expect(short.at(-1)!.content.startsWith('turn 19 ')).toBe(true);

    const long = recentHistory(turns(8, 5000));
    expect(long.every((t) => t.content.length <= HISTORY_TURN_CHARS)).toBe(true);
    expect(long.reduce((n, t) => n + t.content.length, 0)).toBeLessThanOrEqual(HISTORY_CHARS);
    expect(long.at(-1)!.content.startsWith('turn 7 ')).toBe(true);
    expect(long.map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });
});

describe('a rewrite that is not a query', () => {
  test('an answer, a refusal or cited text is not searched for: the question is', () => {
    expect(looksLikeQuery('hotel cap per night in London')).toBe(true);
    expect(looksLikeQuery(NO_ANSWER)).toBe(false);
    expect(looksLikeQuery('The cap is 180 EUR a night [1].')).toBe(false);
    expect(looksLikeQuery("I don't know which city you mean.")).toBe(false);
    expect(looksLikeQuery('')).toBe(false);
    expect(looksLikeQuery('x'.repeat(1001))).toBe(false);
  });
});

describe('what counts as no answer', () => {
  test('the refusal alone, not a refusal followed by an answer anyway', () => {
    expect(isNoAnswer(NO_ANSWER)).toBe(true);
    expect(isNoAnswer(`${NO_ANSWER} [1]`)).toBe(true);
    expect(isNoAnswer('')).toBe(true);
    expect(isNoAnswer(`${NO_ANSWER.slice(0, -1)}, but generally companies give 30 days of leave.`)).toBe(false);
    expect(isNoAnswer('Mooring fees are paid at the office [1].')).toBe(false);
    // Paraphrases real models use instead of the exact sentence.
    expect(isNoAnswer("I don't know.")).toBe(true);
    expect(isNoAnswer('The sources do not contain this information.')).toBe(true);
    expect(isNoAnswer("I couldn't find anything about London in the documents.")).toBe(true);
    expect(isNoAnswer("I don't know the exact figure, but the sources say it is about 30 days [1].")).toBe(false);
  });
});

describe("a kb/ chat's usage", () => {
  test('counts the chat model\'s tokens, not the embedding or rerank calls of the query', async () => {
    const { usageTokens } = await import('../routes/chat-routes.js');
    const usage = {
      by_stage: {
        'query-embed': { input_tokens: 11, output_tokens: 0 },
        rerank: { input_tokens: 400, output_tokens: 0 },
        rewrite: { input_tokens: 50, output_tokens: 8 },
        generate: { input_tokens: 864, output_tokens: 40 },
      },
    };
    expect([usageTokens(usage, 'input_tokens'), usageTokens(usage, 'output_tokens')]).toEqual([914, 48]);
  });
});

import type { GatewayModels } from './gateway-models.js';
import { findUnlistedModels, modelNameWarnings, unlistedModels } from './model-names.js';

const LISTED = { models: ['openai/text-embedding-3-small', 'openai/text-embedding-3-large', 'openai/gpt-4o-mini', 'cohere/rerank-v3.5', 'fast-answers'], providers: ['openai', 'cohere'] };
const context = { identityToken: 't', traceId: 'trace-1' };

describe('checking model names against the gateway list', () => {
  it('passes listed models and routes', () => {
    expect(unlistedModels(LISTED, [{ param: 'embedding_model', model: 'openai/text-embedding-3-small' }, { param: 'generation_model', model: 'fast-answers' }])).toEqual([]);
  });

  it('flags a typo of a listed provider as an unlisted model and suggests the closest listed one', () => {
    expect(unlistedModels(LISTED, [{ param: 'embedding_model', model: 'openai/text-embeding-3-small' }])).toEqual([
      { param: 'embedding_model', model: 'openai/text-embeding-3-small', unlisted: 'model', suggestion: 'openai/text-embedding-3-small' },
    ]);
  });

  it('suggests nothing when no listed model of the provider is close', () => {
    expect(unlistedModels(LISTED, [{ param: 'generation_model', model: 'openai/o9-preview-2031' }])).toEqual([
      { param: 'generation_model', model: 'openai/o9-preview-2031', unlisted: 'model' },
    ]);
  });

  it('flags a model whose provider the list does not hold at all', () => {
    expect(unlistedModels(LISTED, [{ param: 'rerank_model', model: 'cohree/rerank-v3.5' }])).toEqual([{ param: 'rerank_model', model: 'cohree/rerank-v3.5', unlisted: 'provider' }]);
  });

  it('a configured provider that lists no model (one from QUIRE_PROVIDERS_JSON) serves models all the same', () => {
    const list = { models: LISTED.models, providers: [...LISTED.providers, 'ollama-local'] };
    expect(unlistedModels(list, [{ param: 'generation_model', model: 'ollama-local/llama3.1' }])).toEqual([{ param: 'generation_model', model: 'ollama-local/llama3.1', unlisted: 'model' }]);
    expect(unlistedModels(LISTED, [{ param: 'generation_model', model: 'ollama-local/llama3.1' }])).toEqual([{ param: 'generation_model', model: 'ollama-local/llama3.1', unlisted: 'provider' }]);
  });

  it('asks the gateway only when there is something to check, and checks nothing without a list', async () => {
    const asked: unknown[] = [];
    const models: GatewayModels = {
      ...({} as GatewayModels),
      listModels: async (c) => {
        asked.push(c);
        return LISTED;
      },
    };
    expect(await findUnlistedModels(models, context, [])).toEqual([]);
    expect(asked).toEqual([]);
    expect(await findUnlistedModels(models, context, [{ param: 'p', model: 'jina/x' }])).toEqual([{ param: 'p', model: 'jina/x', unlisted: 'provider' }]);
    expect(asked).toEqual([context]);
    expect(await findUnlistedModels({} as GatewayModels, context, [{ param: 'p', model: 'jina/x' }])).toBeNull();
  });

  it('turns unlisted models into warnings, and an unreadable list into one warning instead of an error', async () => {
    const models: GatewayModels = { ...({} as GatewayModels), listModels: async () => LISTED };
    const warnings = await modelNameWarnings(models, context, [
      { param: 'embedding_model', model: 'openai/text-embeding-3-small' },
      { param: 'rerank_model', model: 'voyage/rerank-2' },
      { param: 'generation_model', model: 'openai/gpt-4o-mini' },
    ]);
    expect(warnings).toEqual([
      expect.objectContaining({ code: 'model_not_listed', param: 'embedding_model', suggestion: 'openai/text-embedding-3-small' }),
      expect.objectContaining({ code: 'provider_not_listed', param: 'rerank_model', model: 'voyage/rerank-2' }),
    ]);
    expect(warnings[0]!.message).toContain('Did you mean "openai/text-embedding-3-small"?');

    const down: GatewayModels = { ...({} as GatewayModels), listModels: () => Promise.reject(new Error('connection refused')) };
    expect(await modelNameWarnings(down, context, [{ param: 'generation_model', model: 'openai/gpt-4o-mini' }])).toEqual([
      { code: 'model_list_unavailable', message: expect.stringContaining('could not be read') },
    ]);
    expect(await modelNameWarnings({} as GatewayModels, context, [{ param: 'generation_model', model: 'openai/nope' }])).toEqual([]);
  });
});

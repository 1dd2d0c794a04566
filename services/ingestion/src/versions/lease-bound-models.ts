import type { GatewayModels } from '@quire/gateway-client';
import { ProviderError, type EmbeddingModelV1 } from '@quire/models';

/**
 * The builder's models, with every embedding call bound to the build: cancelled as soon as `lease`
 * aborts (the build lost its lease: its result could not be written, so waiting for it only delays
 * the stop), and after `callTimeoutMs`, so a hung call fails like a provider timeout (retried by the
 * round, then the version fails) instead of holding a heartbeat-renewed lease forever. The call is
 * given the abort signal and also raced against it, so the build stops promptly even under a model
 * that ignores the signal. Other capabilities pass through unchanged.
 */
export function leaseBoundModels(models: GatewayModels, lease: AbortSignal, callTimeoutMs: number): GatewayModels {
  return {
    embeddingModel(name, context): EmbeddingModelV1 {
      const model = models.embeddingModel(name, context);
      return {
        specificationVersion: model.specificationVersion,
        provider: model.provider,
        modelId: model.modelId,
        maxEmbeddingsPerCall: model.maxEmbeddingsPerCall,
        ...(model.maxTokensPerCall !== undefined ? { maxTokensPerCall: model.maxTokensPerCall } : {}),
        async doEmbed(options) {
          lease.throwIfAborted();
          const call = new AbortController();
          const follow = (signal: AbortSignal) => () => call.abort(signal.reason);
          const onLease = follow(lease);
          lease.addEventListener('abort', onLease, { once: true });
          const caller = options.abortSignal;
          const onCaller = caller ? follow(caller) : undefined;
          if (caller && onCaller) {
            if (caller.aborted) onCaller();
            else caller.addEventListener('abort', onCaller, { once: true });
          }
          const deadline = setTimeout(
            () =>
              call.abort(
                new ProviderError({
                  code: 'provider_timeout',
                  provider: model.provider,
                  message: `The embedding call to ${name} took longer than ${callTimeoutMs} ms; the index build stopped waiting for it.`,
                  retryable: true,
                }),
              ),
            callTimeoutMs,
          );
          deadline.unref();
          const aborted = new Promise<never>((_, reject) => {
            if (call.signal.aborted) reject(call.signal.reason);
            else call.signal.addEventListener('abort', () => reject(call.signal.reason), { once: true });
          });
          try {
            return await Promise.race([model.doEmbed({ ...options, abortSignal: call.signal }), aborted]);
          } finally {
            clearTimeout(deadline);
            lease.removeEventListener('abort', onLease);
            if (caller && onCaller) caller.removeEventListener('abort', onCaller);
          }
        },
      };
    },
    generationModel: (name, context) => models.generationModel(name, context),
    rerankingModel: (name, context) => models.rerankingModel(name, context),
    ...(models.checkBudget ? { checkBudget: models.checkBudget.bind(models) } : {}),
  };
}

import { createFakeGatewayModels as createFake, type FakeGatewayCall } from '@quire/fakes';

/** An embedding call the fake gateway served (ingestion makes no other kind). */
export type EmbedCall = FakeGatewayCall;

/**
 * The shared fake gateway (`@quire/fakes`) with ingestion's defaults: 32 dimensions, 4 texts per
 * call, no metering. `failures` are thrown first, in order; `latencyMs` delays each call, and an
 * abort ends it at once with the signal's reason, like the HTTP client.
 */
export function createFakeGatewayModels(options: { dimensions?: number; maxEmbeddingsPerCall?: number; latencyMs?: number } = {}) {
  const fake = createFake({
    dimensions: options.dimensions ?? 32,
    maxEmbeddingsPerCall: options.maxEmbeddingsPerCall ?? 4,
    ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}),
  });
  return { models: fake, calls: fake.calls, failures: fake.failures, embed: fake.embed };
}

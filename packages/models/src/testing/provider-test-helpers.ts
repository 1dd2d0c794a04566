import { ProviderError } from '../errors/provider-error.js';
import type { StreamPartV1 } from '../spec/generation/generation-model-v1.js';

/** Every part of a stream, in order (adapter contract tests). */
export async function collect(stream: AsyncIterable<StreamPartV1>): Promise<StreamPartV1[]> {
  const parts: StreamPartV1[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** The ProviderError a call rejects with; anything else (or success) fails the test. */
export async function caught(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (ProviderError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

/** The parts a stream delivered before it failed, and the ProviderError it failed with. */
export async function collectUntilError(stream: AsyncIterable<StreamPartV1>): Promise<{ parts: StreamPartV1[]; error: ProviderError }> {
  const parts: StreamPartV1[] = [];
  const error = await caught(
    (async () => {
      for await (const part of stream) parts.push(part);
    })(),
  );
  return { parts, error };
}

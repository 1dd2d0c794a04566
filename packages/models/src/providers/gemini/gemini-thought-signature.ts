import type { ProviderMetadataV1 } from '../../spec/generation/generation-model-v1.js';

/**
 * Gemini signs parts of an answer with an opaque `thoughtSignature` that must come back on the same
 * part next turn: Gemini 3 answers 400 when a replayed function call lacks it, and 2.5 loses its
 * reasoning context. It travels under the vendor key `google`, the name Google's own
 * OpenAI-compatible API uses (`extra_content.google.thought_signature`).
 */
export function thoughtSignatureMetadata(signature: string | null | undefined): { providerMetadata: ProviderMetadataV1 } | undefined {
  return signature ? { providerMetadata: { google: { thoughtSignature: signature } } } : undefined;
}

/** The signature to replay, if this metadata holds one (metadata from other vendors is ignored). */
export function thoughtSignatureOf(metadata: ProviderMetadataV1 | undefined): string | undefined {
  const value = metadata?.google?.thoughtSignature;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

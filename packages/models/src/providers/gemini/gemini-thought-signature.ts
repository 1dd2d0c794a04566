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

/**
 * The value Google documents for a functionCall part that Gemini never signed: history from another
 * model (a route fell back, or the client switched models) or a call the client made up. Gemini 3
 * takes it in place of a real signature instead of answering 400; Google lists it (with one
 * alternative) in the FAQ of https://ai.google.dev/gemini-api/docs/thought-signatures#faqs,
 * and Vertex AI documents the same one at
 * https://docs.cloud.google.com/vertex-ai/generative-ai/docs/thought-signatures, so it works on both.
 * The model then reasons without the lost context, which beats refusing the turn.
 */
export const SKIP_THOUGHT_SIGNATURE_VALIDATOR = 'skip_thought_signature_validator';

/** Gemini 3 and later refuse a replayed function call without its signature; 2.5 and older accept one. */
export function requiresThoughtSignatures(modelId: string): boolean {
  const major = /^(?:models\/)?gemini-(\d+)(?:[.-]|$)/.exec(modelId)?.[1];
  return major !== undefined && Number(major) >= 3;
}

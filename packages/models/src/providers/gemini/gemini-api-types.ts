import { z } from 'zod';
import { vectorSchema } from '../shared/vector-schema.js';

/* Lenient response schemas for the Generative Language API (providers.md §5): unknown keys dropped, optionals nullish. */

const count = z.number().nullish();

export const geminiUsageSchema = z
  .object({
    promptTokenCount: count,
    cachedContentTokenCount: count,
    candidatesTokenCount: count,
    thoughtsTokenCount: count,
    toolUsePromptTokenCount: count,
    totalTokenCount: count,
  })
  .nullish();

export type GeminiUsage = z.output<typeof geminiUsageSchema>;

const partSchema = z.object({
  text: z.string().nullish(),
  thought: z.boolean().nullish(),
  functionCall: z.object({ id: z.string().nullish(), name: z.string(), args: z.record(z.string(), z.unknown()).nullish() }).nullish(),
  /** Opaque, base64; sent back unchanged on the same part next turn (gemini-thought-signature.ts). */
  thoughtSignature: z.string().nullish(),
});

export const geminiResponseSchema = z.object({
  candidates: z
    .array(
      z.object({
        content: z.object({ role: z.string().nullish(), parts: z.array(partSchema).nullish() }).nullish(),
        finishReason: z.string().nullish(),
        index: z.number().nullish(),
      }),
    )
    .nullish(),
  promptFeedback: z.object({ blockReason: z.string().nullish() }).nullish(),
  usageMetadata: geminiUsageSchema,
  modelVersion: z.string().nullish(),
  responseId: z.string().nullish(),
});

export type GeminiResponse = z.output<typeof geminiResponseSchema>;

export const geminiBatchEmbedResponseSchema = z.object({
  embeddings: z.array(z.object({ values: vectorSchema })),
});

import { z } from 'zod';
import { vectorSchema } from '../shared/vector-schema.js';

/*
 * Response schemas for OpenAI-compatible servers. Lenient on purpose: unknown keys are dropped,
 * optional fields accept null, and `choices` may be null or missing on usage-only chunks (vLLM).
 */

const count = z.number().nullish();

export const openAIUsageSchema = z
  .object({
    prompt_tokens: count,
    completion_tokens: count,
    total_tokens: count,
    prompt_tokens_details: z.object({ cached_tokens: count, cache_write_tokens: count }).nullish(),
    completion_tokens_details: z.object({ reasoning_tokens: count }).nullish(),
    // DeepSeek reports cache hits outside prompt_tokens_details.
    prompt_cache_hit_tokens: count,
    prompt_cache_miss_tokens: count,
  })
  .nullish();

export type OpenAIUsage = z.output<typeof openAIUsageSchema>;

const toolCallSchema = z.object({
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }),
});

export const openAIChatResponseSchema = z.object({
  id: z.string().nullish(),
  model: z.string().nullish(),
  choices: z.array(
    z.object({
      index: z.number().nullish(),
      message: z.object({
        content: z.string().nullish(),
        reasoning_content: z.string().nullish(),
        reasoning: z.string().nullish(),
        refusal: z.string().nullish(),
        tool_calls: z.array(toolCallSchema).nullish(),
      }),
      finish_reason: z.string().nullish(),
    }),
  ),
  usage: openAIUsageSchema,
});

const toolCallDeltaSchema = z.object({
  index: z.number().nullish(),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

export const openAIChunkSchema = z.object({
  id: z.string().nullish(),
  model: z.string().nullish(),
  choices: z
    .array(
      z.object({
        index: z.number().nullish(),
        // Azure's content-filter chunks carry a choice without a delta.
        delta: z
          .object({
            content: z.string().nullish(),
            reasoning_content: z.string().nullish(),
            reasoning: z.string().nullish(),
            tool_calls: z.array(toolCallDeltaSchema).nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: openAIUsageSchema,
  // Groq puts the final usage here on older API versions.
  x_groq: z.object({ usage: openAIUsageSchema }).nullish(),
});

export const openAIEmbeddingResponseSchema = z.object({
  model: z.string().nullish(),
  data: z.array(z.object({ index: z.number().nullish(), embedding: z.union([vectorSchema, z.string()]) })),
  usage: z.object({ prompt_tokens: count, total_tokens: count }).nullish(),
});

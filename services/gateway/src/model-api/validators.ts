import { z } from 'zod';

/** `provider/model`, or the name of a route (a virtual model such as `chat-default`). */
export const ModelOrRouteSchema = z
  .string()
  .max(200)
  .regex(/^([a-z0-9][a-z0-9._-]*\/\S+|[A-Za-z0-9][A-Za-z0-9_.:-]*)$/i, 'must be "provider/model" or a route name, for example "openai/gpt-4o-mini" or "chat-default"');

/** The public chat format is OpenAI's; we accept what OpenAI SDKs send and ignore fields we do not use. */
const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });
const ImagePartSchema = z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string(), detail: z.string().optional() }) });
const ContentSchema = z.union([z.string(), z.array(z.union([TextPartSchema, ImagePartSchema]))]);

/**
 * Google's OpenAI-compatible API hands out Gemini thought signatures as
 * `extra_content.google.thought_signature` on tool calls, and clients built for it send them back
 * there; Gemini 3 refuses a replayed tool call without its signature. We accept the same on the
 * assistant message for a signature that came with its text. Other vendors' keys are dropped.
 */
const ExtraContentSchema = z.object({ google: z.object({ thought_signature: z.string().optional() }).optional() });
export type ExtraContent = z.infer<typeof ExtraContentSchema>;

const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function').default('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
  extra_content: ExtraContentSchema.nullable().optional(),
});

export const ChatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: ContentSchema, name: z.string().optional() }),
  z.object({ role: z.literal('developer'), content: ContentSchema, name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: ContentSchema, name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: ContentSchema.nullable().optional(),
    tool_calls: z.array(ToolCallSchema).optional(),
    name: z.string().optional(),
    extra_content: ExtraContentSchema.nullable().optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: ContentSchema }),
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const ChatCompletionBodySchema = z.object({
  model: ModelOrRouteSchema,
  messages: z.array(ChatMessageSchema).min(1, 'messages must not be empty').max(2000),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  tools: z
    .array(
      z.object({
        type: z.literal('function'),
        function: z.object({ name: z.string().min(1), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }),
      }),
    )
    .optional(),
  tool_choice: z
    .union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) })])
    .optional(),
  response_format: z
    .union([
      z.object({ type: z.literal('text') }),
      z.object({ type: z.literal('json_object') }),
      z.object({
        type: z.literal('json_schema'),
        json_schema: z.object({ name: z.string(), schema: z.record(z.string(), z.unknown()).optional() }),
      }),
    ])
    .optional(),
  user: z.string().optional(),
});
export type ChatCompletionBody = z.infer<typeof ChatCompletionBodySchema>;

const TokenIdsSchema = z.array(z.number().int().nonnegative()).min(1, 'a token-id input must not be empty').max(8192, 'a token-id input holds at most 8192 tokens');

export const EmbeddingsBodySchema = z.object({
  model: ModelOrRouteSchema,
  // Text, or token ids (cl100k_base) as OpenAI's API takes them: one list, or a list per input.
  input: z.union([
    z.string().min(1, 'input must not be empty'),
    z.array(z.string().min(1, 'input items must not be empty')).min(1).max(2048),
    TokenIdsSchema,
    z.array(TokenIdsSchema).min(1).max(2048),
  ]),
  // SDK wrappers send null for options left unset.
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().max(16000).nullish(),
  user: z.string().nullish(),
});
export type EmbeddingsBody = z.infer<typeof EmbeddingsBodySchema>;

const RerankDocumentSchema = z.union([z.string(), z.object({ text: z.string() })]);

/** `POST /v1/rerank`, in the shape Cohere and Jina share. */
export const RerankBodySchema = z.object({
  model: ModelOrRouteSchema,
  query: z.string().min(1, 'query must not be empty').max(100_000),
  documents: z.array(RerankDocumentSchema).min(1, 'documents must not be empty').max(10_000),
  top_n: z.number().int().positive().optional(),
  return_documents: z.boolean().optional(),
  user: z.string().optional(),
});
export type RerankBody = z.infer<typeof RerankBodySchema>;

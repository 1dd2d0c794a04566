import { z } from 'zod';
import {
  assistantFunctionCallRefused, ChatCommonShape, chatMessagesOf, ChatSamplingShape, FunctionRoleMessageSchema,
} from '@quire/contracts';

/** `provider/model`, or the name of a route (a virtual model such as `chat-default`). */
export const ModelOrRouteSchema = z
  .string()
  .max(200)
  .regex(/^([a-z0-9][a-z0-9._-]*\/\S+|[A-Za-z0-9][A-Za-z0-9_.:-]*)$/i, 'must be "provider/model" or a route name, for example "openai/gpt-4o-mini" or "chat-default"');

/** The public chat format is OpenAI's; we accept what OpenAI SDKs send and ignore fields we do not use. */
const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });
const ImagePartSchema = z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string(), detail: z.string().optional() }) });
/** What an assistant said it would not do, as OpenAI returns it; sent back as the assistant's text. */
const RefusalPartSchema = z.object({ type: z.literal('refusal'), refusal: z.string() });

/** Part types OpenAI takes that no Quire target is given, refused with the reason. */
const REFUSED_PARTS: Record<string, string> = {
  input_audio: 'content part type "input_audio" is not supported: Quire sends models text and images (image_url) only; send a transcript as a text part',
  file: 'content part type "file" is not supported: Quire sends models text and images (image_url) only; send the file\'s text as a text part, or ask a kb/<collection> model about documents',
};

/** Images reach models only in user messages (as OpenAI takes them); elsewhere they would be dropped unseen, so they are refused. */
const IMAGE_OUTSIDE_USER = (role: string) =>
  `content part type "image_url" is not supported in a ${role} message: images are sent to models in user messages only; move the image to a user message`;

/**
 * A message's content: a string, or parts of the listed types. A part of another type (`input_audio`,
 * `file`, or a part that belongs to another role) is refused naming its type, at its own path; zod's
 * union alone would answer a bare "Invalid input" for the whole content.
 */
function contentOf<const Parts extends readonly [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]]>(role: string, parts: Parts) {
  const listed = new Set(parts.map((part) => part.shape.type.value));
  // Never succeeds. For a listed type (malformed, so the listed schemas failed too) its issue aborts, so
  // the union reports as before; for any other type it does not, and the union passes it on as the answer.
  const other = z.looseObject({ type: z.string() }).superRefine((part, ctx) => {
    if (listed.has(part.type)) ctx.addIssue({ code: 'custom', message: `malformed "${part.type}" part`, continue: false });
    else ctx.addIssue({ code: 'custom', message: REFUSED_PARTS[part.type] ?? (part.type === 'image_url' ? IMAGE_OUTSIDE_USER(role) : `content part type ${JSON.stringify(part.type).slice(0, 60)} is not supported in a ${role} message`) });
  }) as unknown as z.ZodType<never>;
  return z.union([z.string(), z.array(z.union([z.discriminatedUnion('type', parts), other]))]);
}

// Only a user message's images reach a model (MessageV1 gives the other roles text), as with OpenAI.
const SystemContentSchema = contentOf('system', [TextPartSchema]);
const DeveloperContentSchema = contentOf('developer', [TextPartSchema]);
const ToolContentSchema = contentOf('tool', [TextPartSchema]);
const UserContentSchema = contentOf('user', [TextPartSchema, ImagePartSchema]);
const AssistantContentSchema = contentOf('assistant', [TextPartSchema, RefusalPartSchema]);

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
  z.object({ role: z.literal('system'), content: SystemContentSchema, name: z.string().optional() }),
  z.object({ role: z.literal('developer'), content: DeveloperContentSchema, name: z.string().optional() }),
  z.object({ role: z.literal('user'), content: UserContentSchema, name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: AssistantContentSchema.nullable().optional(),
    tool_calls: z.array(ToolCallSchema).nullable().optional(),
    name: z.string().optional(),
    extra_content: ExtraContentSchema.nullable().optional(),
    function_call: assistantFunctionCallRefused(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: ToolContentSchema }),
  FunctionRoleMessageSchema,
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

const ToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().min(1),
    description: z.string().nullable().optional(),
    parameters: z.record(z.string(), z.unknown()).nullable().optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const ResponseFormatSchema = z.union([
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({ name: z.string(), schema: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullable().optional() }),
  }),
]);

/**
 * Every field below is honoured or refused: one an adapter cannot honour is refused there (422
 * model_capability_unsupported), and one no target can is refused here. The exceptions are the
 * hints in ChatCommonShape, accepted and not forwarded because they change neither the answer nor
 * its price. Unknown fields are dropped, so a field OpenAI adds that changes either belongs here
 * (in @quire/contracts chat-request.ts when a kb/<collection> chat must read it alike).
 */
export const ChatCompletionBodySchema = z.object({
  model: ModelOrRouteSchema,
  messages: chatMessagesOf(ChatMessageSchema),
  // Streaming, scalar checks, hints, and the fields no Quire chat honours (n, logprobs, audio, store...).
  ...ChatCommonShape,
  // Length, stop and sampling: read by samplingOptionsOf, as a kb/<collection> chat reads them.
  ...ChatSamplingShape,
  tools: z.array(ToolSchema).nullable().optional(),
  tool_choice: z
    .union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) })])
    .nullable()
    .optional(),
  response_format: ResponseFormatSchema.nullable().optional(),
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

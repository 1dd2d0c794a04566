import { z } from 'zod';
import { refused, serviceTierRefused } from '@quire/contracts';
import { ModelOrRouteSchema } from './validators.js';

/**
 * The request body of `POST /v1/responses` (OpenAI's Responses API), field names as the openai SDK's
 * `ResponseCreateParams`. As on the chat endpoint, every field that changes the answer is honoured or
 * refused with a 400 naming it, and so is a service_tier other than the default (it changes the
 * price); fields that only tune OpenAI's own service (prompt_cache_key, safety_identifier, include,
 * stream_options ...) are dropped.
 */

/** Parses `raw` with `schema` inside a transform, its issues reported at their own paths below the field. */
function parseInto<T>(schema: z.ZodType<T>, raw: unknown, ctx: z.RefinementCtx): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as (string | number)[] });
  return z.NEVER;
}

const InputTextSchema = z.object({ type: z.literal('input_text'), text: z.string() });
const InputImageSchema = z.object({
  type: z.literal('input_image'),
  image_url: z.string().nullish(),
  file_id: z.string().nullish(),
  detail: z.string().nullish(),
});
const OutputTextSchema = z.object({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()).optional() });
const RefusalSchema = z.object({ type: z.literal('refusal'), refusal: z.string() });

/** One content part of an input message: which parts a role may carry is checked in responses-input.ts. */
const ContentPartSchema = z.discriminatedUnion('type', [InputTextSchema, InputImageSchema, OutputTextSchema, RefusalSchema], {
  error: 'a content part must be "input_text", "input_image" (user messages) or "output_text"/"refusal" (assistant messages); "input_file" and audio are not supported',
});
export type ContentPart = z.infer<typeof ContentPartSchema>;

const MessageItemSchema = z.object({
  type: z.literal('message'),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(ContentPartSchema)]),
  id: z.string().nullish(),
  status: z.string().nullish(),
});

const FunctionCallItemSchema = z.object({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  id: z.string().nullish(),
  status: z.string().nullish(),
});

const FunctionCallOutputItemSchema = z.object({
  type: z.literal('function_call_output'),
  call_id: z.string({ error: 'call_id is required: the call_id of the function_call this output answers' }).min(1),
  output: z.union([z.string(), z.array(ContentPartSchema)]),
  id: z.string().nullish(),
  status: z.string().nullish(),
});

const ITEM_SCHEMAS = {
  message: MessageItemSchema,
  function_call: FunctionCallItemSchema,
  function_call_output: FunctionCallOutputItemSchema,
} as const;
export type InputItem = z.infer<(typeof ITEM_SCHEMAS)[keyof typeof ITEM_SCHEMAS]>;

function unsupportedItem(type: string): string {
  if (type === 'item_reference') {
    return 'item_reference is not supported: Quire does not store responses (store is not honoured), so send the items themselves (with the Vercel AI SDK: providerOptions.openai.store = false)';
  }
  return `input items of type "${type}" are not supported; Quire accepts "message", "function_call" and "function_call_output" items`;
}

/**
 * An input item. A message may leave `type` out (the SDK's EasyInputMessage); other item types get a
 * 400 that names them instead of zod's list of every union member.
 */
const InputItemSchema = z.unknown().transform((raw, ctx): InputItem => {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    ctx.addIssue({ code: 'custom', message: 'an input item must be an object' });
    return z.NEVER;
  }
  const declared = (raw as { type?: unknown }).type;
  const type = declared === undefined || declared === null ? 'message' : declared;
  const schema = typeof type === 'string' && Object.prototype.hasOwnProperty.call(ITEM_SCHEMAS, type) ? ITEM_SCHEMAS[type as keyof typeof ITEM_SCHEMAS] : undefined;
  if (!schema) {
    ctx.addIssue({ code: 'custom', message: unsupportedItem(String(type)), path: ['type'] });
    return z.NEVER;
  }
  return parseInto<InputItem>(schema, { ...raw, type }, ctx);
});

const InputTextOrItemsSchema = z.string().min(1, 'input must not be empty');
const InputItemsSchema = z.array(InputItemSchema).min(1, 'input must not be empty').max(2000);

/** A string or a list of items, told apart first, so an item's error is reported at its own path. */
const InputSchema = z.unknown().transform((raw, ctx): string | InputItem[] => {
  const schema = typeof raw === 'string' ? InputTextOrItemsSchema : Array.isArray(raw) ? InputItemsSchema : undefined;
  if (!schema) {
    ctx.addIssue({ code: 'custom', message: 'input is required: a string or a list of input items (Quire keeps no conversation state, so every request carries its whole input)' });
    return z.NEVER;
  }
  return parseInto<string | InputItem[]>(schema, raw, ctx);
});

const FunctionToolSchema = z.object({
  type: z.literal('function'),
  name: z.string().min(1).max(128),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});
export type FunctionTool = z.infer<typeof FunctionToolSchema>;

/** Function tools only: OpenAI's hosted tools (web_search, file_search, code_interpreter, mcp ...) run on OpenAI's side. */
const ToolSchema = z.unknown().transform((raw, ctx): FunctionTool => {
  const type = raw !== null && typeof raw === 'object' ? (raw as { type?: unknown }).type : undefined;
  if (type !== 'function') {
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: `unsupported tool type ${JSON.stringify(type ?? null)}: Quire supports only "function" tools (hosted tools such as web_search, file_search, code_interpreter, computer_use, image_generation and mcp run on OpenAI's servers and are not available here)`,
    });
    return z.NEVER;
  }
  return parseInto(FunctionToolSchema, raw, ctx);
});

const ToolChoiceSchema = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ type: z.literal('function'), name: z.string().min(1) }),
], { error: 'tool_choice must be "auto", "none", "required" or { "type": "function", "name": ... }; allowed_tools and hosted-tool choices are not supported' });

const TextFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
], { error: 'text.format.type must be "text", "json_object" or "json_schema"' });
export type TextFormat = z.infer<typeof TextFormatSchema>;

/** OpenAI's limits on metadata: 16 pairs, keys up to 64 characters, values up to 512. */
const MetadataSchema = z
  .record(z.string().max(64, 'metadata keys are at most 64 characters'), z.string().max(512, 'metadata values are at most 512 characters'))
  .refine((m) => Object.keys(m).length <= 16, 'metadata holds at most 16 pairs');

export const ResponsesBodySchema = z.object({
  model: ModelOrRouteSchema,
  input: InputSchema,
  instructions: z.string().nullish(),
  tools: z.array(ToolSchema).max(128).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  text: z.object({ format: TextFormatSchema.nullish(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).nullish(),
  reasoning: z.object({ effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullish() }).nullish(),
  stream: z.boolean().nullish(),
  metadata: MetadataSchema.nullish(),
  user: z.string().nullish(),
  // Accepted, never honoured: Quire keeps no responses (nothing to retrieve, continue or delete later),
  // and every answer says `store: false`. Refusing `store: true` would refuse the SDKs' defaults.
  store: z.boolean().nullish(),
  previous_response_id: refused('previous_response_id is not supported: Quire keeps no responses; send the whole conversation in input (earlier output items included).'),
  conversation: refused('conversation is not supported: Quire keeps no conversations; send the whole conversation in input.'),
  background: refused('background responses are not supported; leave background out or false.', (v) => v === false),
  prompt: refused('prompt (stored prompt templates) is not supported; send instructions and input instead.'),
  max_tool_calls: refused('max_tool_calls is not supported (only function tools exist here, and the caller runs them); leave it out.'),
  top_logprobs: refused('top_logprobs is not supported (logprobs are not returned); leave it out or 0.', (v) => v === 0),
  service_tier: serviceTierRefused(),
  truncation: refused('truncation "auto" is not supported: Quire never drops input items; leave truncation out or "disabled".', (v) => v === 'disabled'),
});
export type ResponsesBody = z.infer<typeof ResponsesBodySchema>;

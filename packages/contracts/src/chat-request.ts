import { z } from 'zod';

/**
 * The pieces of an OpenAI chat request that every Quire chat reads alike: the gateway's plain chat
 * (services/gateway/src/model-api/validators.ts) and a `kb/<collection>` chat (retrieval's
 * routes/kb-chat-options.ts). Each composes its body from these, so a field is refused, checked or
 * passed on with the same words and the same result on both; what only one side can honour (tools,
 * tool_choice, response_format) stays in that side's schema.
 *
 * Shapes only, spread into each side's one `z.object`: sharing them adds no pass over the request.
 */

/** A field Quire cannot honour: absent, null or `allowed` pass (and are dropped); anything else is refused with `message`. */
export const refused = (message: string, allowed: (value: unknown) => boolean = () => false) =>
  z.unknown().refine((value) => value === null || value === undefined || allowed(value), message).transform(() => undefined).optional();

/** Tiers other than the default are priced apart from the prices Quire meters with (flex, priority, scale). */
export const serviceTierRefused = () =>
  refused('service_tier must be "auto" or "default" (or left out): other tiers are priced differently from the prices Quire meters with.', (v) => v === 'auto' || v === 'default');

/** A hint with no effect on the answer or the bill: accepted in any form, and not forwarded to the provider. */
export const ignored = () => z.unknown().transform(() => undefined).optional();

/** The most messages one chat request may hold. */
export const CHAT_MESSAGES_MAX = 2000;

/** A chat request's `messages`: at least one, at most CHAT_MESSAGES_MAX, each checked by `message`. */
export const chatMessagesOf = <T extends z.ZodType>(message: T) =>
  z.array(message).min(1, 'messages must not be empty').max(CHAT_MESSAGES_MAX, `messages may hold at most ${CHAT_MESSAGES_MAX} messages`);

/** A message of role "function": deprecated by OpenAI, refused by name so the caller learns what replaced it. */
export const FunctionRoleMessageSchema = z
  .object({ role: z.literal('function') })
  .refine(() => false, 'role "function" is deprecated and not supported; send tool results as role "tool" with the tool_call_id');

/** An assistant message's deprecated `function_call`, refused by name. */
export const assistantFunctionCallRefused = () =>
  refused('function_call is deprecated and not supported; replay the call as tool_calls and its result as role "tool"');

/**
 * The fields beside model and messages that are read alike everywhere: streaming, the scalar checks,
 * hints accepted and not forwarded, and the fields no Quire chat honours, refused by name (400).
 */
export const ChatCommonShape = {
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().nullable().optional() }).nullable().optional(),
  // `true` is every provider's default; `false` only matters where tools are offered.
  parallel_tool_calls: z.boolean().nullable().optional(),
  // One choice, no log probabilities, no deprecated function calling: SDKs' defaults (n 1, logprobs false, top_logprobs 0) pass.
  n: refused('Quire returns one choice per request; n must be 1 (send separate requests for more).', (n) => n === 1),
  logprobs: refused('logprobs are not supported; leave logprobs out or false.', (v) => v === false),
  top_logprobs: refused('top_logprobs is not supported (logprobs are not returned); leave it out.', (v) => v === 0),
  functions: refused('functions is deprecated and not supported; declare them in tools ({ type: "function", function }) instead.'),
  function_call: refused('function_call is deprecated and not supported; use tool_choice instead.'),
  // Audio, web search, predicted outputs and stored completions change what comes back (or what the
  // provider keeps), and a service tier other than the default changes the price Quire meters at.
  modalities: refused('modalities other than ["text"] are not supported (Quire answers in text); leave it out or send ["text"].', (v) => Array.isArray(v) && v.length > 0 && v.every((m) => m === 'text')),
  audio: refused('audio output is not supported (Quire answers in text); leave audio out.'),
  web_search_options: refused('web_search_options is not supported: Quire does not have models search the web; leave it out (a kb/<collection> model answers from your documents).'),
  prediction: refused('prediction (predicted outputs) is not supported; leave it out.'),
  store: refused('store is not supported: Quire has the provider keep no completions (nothing to list, evaluate or distil later); leave it out or false.', (v) => v === false),
  service_tier: serviceTierRefused(),
  // Hints with no effect on the answer or the bill: accepted and not forwarded. `metadata` only tags
  // stored completions (store is refused above); `user`, `safety_identifier` and `prompt_cache_key`
  // only tune the provider's abuse monitoring and cache routing. The ledger attributes calls by key.
  metadata: ignored(),
  user: z.string().nullable().optional(),
  safety_identifier: ignored(),
  prompt_cache_key: ignored(),
};

/** The answer's length, stop sequences and sampling: passed to the model that answers (samplingOptionsOf). */
export const ChatSamplingShape = {
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  logit_bias: z.record(z.string().regex(/^\d+$/, 'logit_bias keys are token ids'), z.number().min(-100).max(100)).nullable().optional(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullable().optional(),
  verbosity: z.enum(['low', 'medium', 'high']).nullable().optional(),
};

export type ChatSamplingFields = z.infer<z.ZodObject<typeof ChatSamplingShape>>;

/** The sampling settings of a model call, named as @quire/models' GenerateOptionsV1 names them. */
export interface ChatSamplingOptions {
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  logitBias?: Record<string, number>;
  reasoningEffort?: NonNullable<ChatSamplingFields['reasoning_effort']>;
  verbosity?: NonNullable<ChatSamplingFields['verbosity']>;
}

/**
 * The one reading of ChatSamplingShape's fields into a model call's settings. `max_completion_tokens`
 * wins over the older `max_tokens`. An empty stop sequence is dropped: it would end the answer before
 * it starts, or be refused by the provider (Anthropic takes no empty stop sequence), so `stop: ""`
 * (or `[""]`) asks for no stop.
 */
export function samplingOptionsOf(body: ChatSamplingFields): ChatSamplingOptions {
  const options: ChatSamplingOptions = {};
  const maxOutputTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxOutputTokens != null) options.maxOutputTokens = maxOutputTokens;
  if (body.temperature != null) options.temperature = body.temperature;
  if (body.top_p != null) options.topP = body.top_p;
  if (body.stop != null) {
    const stop = (typeof body.stop === 'string' ? [body.stop] : body.stop).filter((s) => s !== '');
    if (stop.length > 0) options.stop = stop;
  }
  if (body.seed != null) options.seed = body.seed;
  if (body.presence_penalty != null) options.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) options.frequencyPenalty = body.frequency_penalty;
  if (body.logit_bias != null && Object.keys(body.logit_bias).length > 0) options.logitBias = body.logit_bias;
  if (body.reasoning_effort != null) options.reasoningEffort = body.reasoning_effort;
  if (body.verbosity != null) options.verbosity = body.verbosity;
  return options;
}

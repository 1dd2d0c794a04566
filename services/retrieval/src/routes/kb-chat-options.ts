import { z } from 'zod';
import type { AnswerGenerationSettings } from '../answer/answer-pipeline.js';

/**
 * The OpenAI chat fields of a `kb/<collection>` chat beside `model`, `messages` and `stream`: each is
 * passed to the model that writes the answer, refused with a 400 that names it, or (hints that change
 * neither the answer nor its price) accepted and not used, as the gateway's chat treats them
 * (services/gateway/src/model-api/validators.ts, whose refusals' wording these reuse). None is
 * dropped while it would change the answer or its price.
 *
 * Passed to the answering call (not to the rewrite of a follow-up, which is Quire's own): the answer's
 * length (`max_tokens`, `max_completion_tokens`: a cut answer ends with `finish_reason: "length"`),
 * `stop`, and sampling (`temperature`, `top_p`, `seed`, penalties, `logit_bias`, `reasoning_effort`,
 * `verbosity`); a model that cannot honour one refuses it, as on a plain chat.
 *
 * Refused: what a grounded answer cannot be (several choices, tool calls, JSON, log probabilities,
 * audio, a web search...). `n: 1`, `logprobs: false`, `top_logprobs: 0`, `tool_choice: "none"`,
 * `response_format: {"type": "text"}`, `modalities: ["text"]`, `store: false` and null pass: they ask
 * for what the answer is anyway, and SDKs send some of them by default.
 */

/** A field a kb/ chat cannot honour: absent, null or `allowed` pass; anything else is refused with `message`. */
const refused = (message: string, allowed: (value: unknown) => boolean = () => false) =>
  z
    .unknown()
    .refine((value) => value === null || value === undefined || allowed(value), message)
    .optional();

const TOOLS_REFUSED =
  'tools are not supported on a kb/<collection> model: its answer comes from the collection\'s documents and never calls a tool; leave tools out (or send tool_choice "none"), or call tools with a "provider/model" and search the collection from your tool (POST /v1/collections/:id/search).';

export const KbChatOptionsShape = {
  n: refused('A kb/<collection> model returns one answer per request; n must be 1 (send separate requests for more).', (n) => n === 1),
  logprobs: refused('logprobs are not supported; leave logprobs out or false.', (v) => v === false),
  top_logprobs: refused('top_logprobs is not supported (logprobs are not returned); leave it out.', (v) => v === 0),
  functions: refused('functions is deprecated and not supported; declare them in tools ({ type: "function", function }) instead.'),
  function_call: refused('function_call is deprecated and not supported; use tool_choice instead.'),
  tools: z.array(z.unknown()).nullable().optional(),
  tool_choice: refused(
    'tool_choice must be "none" (or left out) on a kb/<collection> model: its answer comes from the collection\'s documents and never calls a tool; call tools with a "provider/model" instead.',
    (v) => v === 'none',
  ),
  // Without tools it has nothing to change.
  parallel_tool_calls: z.unknown().optional(),
  response_format: refused(
    'response_format must be {"type": "text"} (or left out) on a kb/<collection> model: its answer is text with citations; ask for a format in a system message, or use a "provider/model" for JSON output.',
    (v) => (v as { type?: unknown } | null)?.type === 'text',
  ),
  modalities: refused('modalities other than ["text"] are not supported (Quire answers in text); leave it out or send ["text"].', (v) => Array.isArray(v) && v.length > 0 && v.every((m) => m === 'text')),
  audio: refused('audio output is not supported (Quire answers in text); leave audio out.'),
  web_search_options: refused('web_search_options is not supported: a kb/<collection> model answers from your documents, not the web; leave it out.'),
  prediction: refused('prediction (predicted outputs) is not supported; leave it out.'),
  store: refused('store is not supported: Quire has the provider keep no completions (nothing to list, evaluate or distil later); leave it out or false.', (v) => v === false),
  service_tier: refused('service_tier must be "auto" or "default" (or left out): other tiers are priced differently from the prices Quire meters with.', (v) => v === 'auto' || v === 'default'),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  logit_bias: z.record(z.string().regex(/^\d+$/, 'logit_bias keys are token ids'), z.number().min(-100).max(100)).nullable().optional(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullable().optional(),
  verbosity: z.enum(['low', 'medium', 'high']).nullable().optional(),
};

type KbChatOptions = z.infer<z.ZodObject<typeof KbChatOptionsShape>>;

/** Tools are refused unless tool_choice is "none" (an empty list asks for nothing). */
export function refuseTools(body: KbChatOptions, ctx: z.RefinementCtx): void {
  if (body.tools && body.tools.length > 0 && body.tool_choice !== 'none') ctx.addIssue({ code: 'custom', path: ['tools'], message: TOOLS_REFUSED });
}

/** The settings of the answering model call, from the request's fields (as the gateway's toGenerateOptions reads them). */
export function generationSettingsOf(body: KbChatOptions): AnswerGenerationSettings {
  const settings: AnswerGenerationSettings = {};
  const maxOutputTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxOutputTokens != null) settings.maxOutputTokens = maxOutputTokens;
  if (body.temperature != null) settings.temperature = body.temperature;
  if (body.top_p != null) settings.topP = body.top_p;
  if (body.stop != null && body.stop.length > 0) settings.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (body.seed != null) settings.seed = body.seed;
  if (body.presence_penalty != null) settings.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) settings.frequencyPenalty = body.frequency_penalty;
  if (body.logit_bias != null && Object.keys(body.logit_bias).length > 0) settings.logitBias = body.logit_bias;
  if (body.reasoning_effort != null) settings.reasoningEffort = body.reasoning_effort;
  if (body.verbosity != null) settings.verbosity = body.verbosity;
  return settings;
}

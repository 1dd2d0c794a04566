import { z } from 'zod';
import { assistantFunctionCallRefused, ChatCommonShape, chatMessagesOf, ChatSamplingShape, FunctionRoleMessageSchema, refused } from '@quire/contracts';

/**
 * A `kb/<collection>` chat's request: OpenAI's chat format, read as the gateway's plain chat reads it
 * wherever both can honour a field. What both must agree on comes from @quire/contracts
 * (chat-request.ts), also used by services/gateway/src/model-api/validators.ts: the fields no Quire
 * chat honours (n, logprobs, audio, web search, store, service tiers...) and their refusals' wording,
 * the scalar checks (user, parallel_tool_calls...), the message-count cap, the refusal of role
 * "function" and of an assistant's function_call, and the sampling fields, read into the answering
 * call's settings by samplingOptionsOf (as the gateway's toGenerateOptions reads them). None is
 * dropped while it would change the answer or its price.
 *
 * Passed to the answering call (not to the rewrite of a follow-up, which is Quire's own): the answer's
 * length (`max_tokens`, `max_completion_tokens`: a cut answer ends with `finish_reason: "length"`),
 * `stop`, and sampling (`temperature`, `top_p`, `seed`, penalties, `logit_bias`, `reasoning_effort`,
 * `verbosity`); a model that cannot honour one refuses it, as on a plain chat.
 *
 * Refused here and not by the gateway: what a grounded answer cannot be (tool calls, JSON).
 * `tool_choice` "none" or "auto" (without tools: nothing to call, as on the gateway and at OpenAI),
 * an empty `tools`, `response_format: {"type": "text"}` and null pass: they ask for what the answer
 * is anyway, and SDKs and chat front ends send some of them by default.
 */

/**
 * A message's content as a knowledge-base chat reads it: a string, or text parts (and an assistant's
 * `refusal`, which OpenAI returns and clients send back, read as its text, as the gateway's chat does).
 */
const PartSchema = z.looseObject({ type: z.string() });
const ContentSchema = z.union([z.string(), z.array(PartSchema), z.null()]);
export type KbChatContent = z.infer<typeof ContentSchema>;
const TEXT_PARTS = { text: z.object({ text: z.string() }), refusal: z.object({ refusal: z.string() }) } as const;

/**
 * Parts of other types are refused by name, at their path, as the gateway refuses parts no model is
 * given (model-api/validators.ts): the question is searched as text and answered from the collection's
 * documents, so an image (or audio, or a file) would go unseen and the answer would be to another
 * question. Passing images to the answering model would not help: retrieval would still not see them.
 */
const REFUSED_PART_ADVICE: Record<string, string> = {
  image_url: 'describe what the image shows in a text part, or send the image to a vision model ("provider/model")',
  input_audio: 'send a transcript as a text part',
  file: "send the file's text as a text part, or upload the file to the collection",
};

function partProblem(role: string, part: z.infer<typeof PartSchema>): string | undefined {
  const read = part.type === 'text' ? TEXT_PARTS.text : part.type === 'refusal' && role === 'assistant' ? TEXT_PARTS.refusal : undefined;
  if (read) return read.safeParse(part).success ? undefined : `malformed "${part.type}" part`;
  const advice = REFUSED_PART_ADVICE[part.type];
  return `content part type ${JSON.stringify(part.type).slice(0, 60)} is not supported in a ${role} message of a kb/ chat: a knowledge-base chat reads text only${advice ? `; ${advice}` : ''}`;
}

/** A message of `role`: its content's parts checked in the one pass zod makes over it. */
const messageOf = <const Role extends string, Extra extends z.ZodRawShape = Record<never, never>>(role: Role, extra?: Extra) =>
  z.looseObject({ role: z.literal(role), content: ContentSchema.optional(), ...(extra as Extra) }).superRefine((message, ctx) => {
    if (!Array.isArray(message.content)) return;
    message.content.forEach((part, i) => {
      const problem = partProblem(role, part);
      if (problem) ctx.addIssue({ code: 'custom', path: ['content', i], message: problem });
    });
  });

const MessageSchema = z.discriminatedUnion('role', [
  messageOf('system'),
  messageOf('developer'),
  messageOf('user'),
  messageOf('assistant', { function_call: assistantFunctionCallRefused() }),
  messageOf('tool'),
  FunctionRoleMessageSchema,
]);
export type KbChatMessage = z.infer<typeof MessageSchema>;

const TOOLS_REFUSED =
  'tools are not supported on a kb/<collection> model: its answer comes from the collection\'s documents and never calls a tool; leave tools out (or send tool_choice "none"), or call tools with a "provider/model" and search the collection from your tool (POST /v1/collections/:id/search).';

/** The fields a kb/ chat reads beyond the shared ones: tools, asked for nothing, and the answer's format, text. */
const KbChatOnlyShape = {
  tools: z.array(z.unknown()).nullable().optional(),
  // Kept as sent (not `refused`, which drops the value): refuseTools reads it.
  tool_choice: z
    .unknown()
    .refine(
      (v) => v === null || v === undefined || v === 'none' || v === 'auto',
      'tool_choice must be "none" or "auto" (or left out) on a kb/<collection> model: its answer comes from the collection\'s documents and never calls a tool; call tools with a "provider/model" instead.',
    )
    .optional(),
  response_format: refused(
    'response_format must be {"type": "text"} (or left out) on a kb/<collection> model: its answer is text with citations; ask for a format in a system message, or use a "provider/model" for JSON output.',
    (v) => (v as { type?: unknown } | null)?.type === 'text',
  ),
};

/** Tools are refused unless tool_choice is "none" (an empty list asks for nothing). */
function refuseTools(body: { tools?: unknown[] | null; tool_choice?: unknown }, ctx: z.RefinementCtx): void {
  if (body.tools && body.tools.length > 0 && body.tool_choice !== 'none') ctx.addIssue({ code: 'custom', path: ['tools'], message: TOOLS_REFUSED });
}

/**
 * An OpenAI chat request: the fields RAG uses, and the others passed to the answering model or refused
 * by name; fields OpenAI does not define are dropped, as the gateway's chat drops them. `model` is the
 * gateway's `kb/<collection>` (a collection's name may hold spaces), not a provider/model.
 */
export const KbChatBodySchema = z
  .object({
    model: z.string().min(1).max(300),
    messages: chatMessagesOf(MessageSchema),
    ...ChatCommonShape,
    ...ChatSamplingShape,
    ...KbChatOnlyShape,
  })
  .superRefine(refuseTools);
export type KbChatBody = z.infer<typeof KbChatBodySchema>;

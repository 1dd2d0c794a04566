import { randomUUID } from 'node:crypto';
import type { ContentPartV1, FinishReasonV1, GenerateOptionsV1, MessageV1, ResponseFormatV1, ToolDefinitionV1, UsageV1 } from '@quire/models';
import { imageDetailOf } from '@quire/models';
import { AppError } from '@quire/server-kit';
import type { ContentPart, FunctionTool, InputItem, ResponsesBody, TextFormat } from './responses-schema.js';

/** OpenAI-style ids: a prefix and 48 hex digits (`resp_`, `msg_`, `fc_`). */
export const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}${randomUUID().replace(/-/g, '').slice(0, 16)}`;

const refuse = (message: string, param: string): never => {
  throw new AppError('invalid_request', message, { param });
};

/** Text of a system/developer message, an assistant message or a tool output: text parts only. */
function textOf(content: string | ContentPart[], param: string, what: string): string {
  if (typeof content === 'string') return content;
  return content
    .map((part, i) => {
      if (part.type === 'input_text' || part.type === 'output_text') return part.text;
      if (part.type === 'refusal') return part.refusal;
      return refuse(`${what} may hold text parts only; images go in user messages.`, `${param}.${i}`);
    })
    .join('');
}

function userContent(content: string | ContentPart[], param: string): string | ContentPartV1[] {
  if (typeof content === 'string') return content;
  return content.map((part, i): ContentPartV1 => {
    if (part.type === 'input_text' || part.type === 'output_text') return { type: 'text', text: part.text };
    if (part.type === 'refusal') return refuse('a user message cannot hold a refusal part.', `${param}.${i}`);
    if (!part.image_url) {
      return refuse('input_image needs image_url (an https URL or a data: URL); file_id refers to OpenAI\'s file storage, which Quire does not have.', `${param}.${i}.image_url`);
    }
    const detail = imageDetailOf(part.detail);
    return { type: 'image_url', url: part.image_url, ...(detail ? { detail } : {}) };
  });
}

/**
 * Input items → the normalised messages. Consecutive `function_call` items (and the assistant text
 * before them) become one assistant turn with its tool calls, as every provider expects them.
 */
export function toMessages(body: ResponsesBody): MessageV1[] {
  const messages: MessageV1[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') {
    messages.push({ role: 'user', content: body.input });
    return messages;
  }
  body.input.forEach((item: InputItem, i) => {
    const param = `input.${i}`;
    const last = messages[messages.length - 1];
    switch (item.type) {
      case 'message':
        if (item.role === 'user') messages.push({ role: 'user', content: userContent(item.content, `${param}.content`) });
        else if (item.role === 'assistant') messages.push({ role: 'assistant', content: textOf(item.content, `${param}.content`, 'an assistant message') });
        else messages.push({ role: 'system', content: textOf(item.content, `${param}.content`, `a ${item.role} message`) });
        return;
      case 'function_call': {
        const call = { id: item.call_id, name: item.name, arguments: item.arguments };
        if (last?.role === 'assistant') last.toolCalls = [...(last.toolCalls ?? []), call];
        else messages.push({ role: 'assistant', content: null, toolCalls: [call] });
        return;
      }
      case 'function_call_output':
        messages.push({ role: 'tool', toolCallId: item.call_id, content: textOf(item.output, `${param}.output`, 'a function_call_output') });
        return;
    }
  });
  return messages;
}

function toTool(tool: FunctionTool): ToolDefinitionV1 {
  const { name, description, parameters, strict } = tool;
  return { name, ...(description ? { description } : {}), ...(parameters ? { parameters } : {}), ...(strict != null ? { strict } : {}) };
}

function toResponseFormat(format: TextFormat): ResponseFormatV1 | undefined {
  // "text" is every model's default: nothing to ask for.
  if (format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  // The spec has no place for a format's description; the schema carries the meaning.
  return { type: 'json_schema', name: format.name, schema: format.schema, ...(format.strict != null ? { strict: format.strict } : {}) };
}

/** Responses request → the normalised request every adapter understands (the chat endpoint's, field for field). */
export function toGenerateOptions(body: ResponsesBody): GenerateOptionsV1 {
  const options: GenerateOptionsV1 = { messages: toMessages(body) };
  if (body.max_output_tokens != null) options.maxOutputTokens = body.max_output_tokens;
  if (body.temperature != null) options.temperature = body.temperature;
  if (body.top_p != null) options.topP = body.top_p;
  if (body.tools?.length) options.tools = body.tools.map(toTool);
  if (body.tool_choice) options.toolChoice = typeof body.tool_choice === 'string' ? body.tool_choice : { name: body.tool_choice.name };
  // `true` is every provider's default, so only `false` travels (and is refused where it cannot be honoured).
  if (body.parallel_tool_calls === false) options.parallelToolCalls = false;
  const format = body.text?.format ? toResponseFormat(body.text.format) : undefined;
  if (format) options.responseFormat = format;
  if (body.text?.verbosity != null) options.verbosity = body.text.verbosity;
  if (body.reasoning?.effort != null) options.reasoningEffort = body.reasoning.effort;
  return options;
}

export function usageToResponses(usage: UsageV1) {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

/** `length` and `content_filter` end a response as `incomplete`, as OpenAI's do; the rest complete it. */
export function incompleteReason(reason: FinishReasonV1): 'max_output_tokens' | 'content_filter' | null {
  if (reason === 'length') return 'max_output_tokens';
  if (reason === 'content_filter') return 'content_filter';
  return null;
}

export interface OutputMessage {
  id: string;
  type: 'message';
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: { type: 'output_text'; text: string; annotations: never[]; logprobs: never[] }[];
}
export interface OutputFunctionCall {
  id: string;
  type: 'function_call';
  status: 'in_progress' | 'completed' | 'incomplete';
  arguments: string;
  call_id: string;
  name: string;
}
export type OutputItem = OutputMessage | OutputFunctionCall;

export const outputText = (text: string) => ({ type: 'output_text' as const, text, annotations: [] as never[], logprobs: [] as never[] });

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/**
 * One response object, the shape of the SDK's `Response`: the request's settings echoed (tools,
 * tool_choice, text, temperature ...), `store: false` whatever was asked (nothing is kept), and no
 * `output_text`, which the SDK computes itself from `output`.
 */
export function responseObject(
  body: ResponsesBody,
  meta: { id: string; createdAt: number },
  state: { status: ResponseStatus; output: OutputItem[]; usage?: UsageV1; incomplete?: string | null; error?: { code: string; message: string } },
) {
  const terminal = state.status !== 'in_progress';
  return {
    id: meta.id,
    object: 'response',
    created_at: meta.createdAt,
    status: state.status,
    ...(state.status === 'completed' ? { completed_at: Math.floor(Date.now() / 1000) } : {}),
    background: false,
    error: state.error ?? null,
    incomplete_details: state.incomplete ? { reason: state.incomplete } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model: body.model,
    output: state.output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: null },
    store: false,
    temperature: body.temperature ?? null,
    text: { format: body.text?.format ?? { type: 'text' }, ...(body.text?.verbosity ? { verbosity: body.text.verbosity } : {}) },
    tool_choice: body.tool_choice ?? 'auto',
    tools: (body.tools ?? []).map((t) => ({ type: 'function', name: t.name, description: t.description ?? null, parameters: t.parameters ?? null, strict: t.strict ?? null })),
    top_p: body.top_p ?? null,
    truncation: 'disabled',
    access_programs: null,
    usage: terminal && state.usage ? usageToResponses(state.usage) : null,
    ...(body.user ? { user: body.user } : {}),
    metadata: body.metadata ?? {},
  };
}

import type {
  ContentPartV1, FinishReasonV1, GenerateOptionsV1, GenerateResultV1, MessageV1, ProviderMetadataV1, ResponseFormatV1, StreamPartV1, ToolDefinitionV1, UsageV1,
} from '@quire/models';
import { samplingOptionsOf } from '@quire/contracts';
import { imageDetailOf } from '@quire/models';
import { AppError } from '@quire/server-kit';
import type { ChatCompletionBody, ChatMessage, ExtraContent } from './validators.js';

/**
 * Provider data that must come back next turn, in and out of the OpenAI format. Only Gemini's thought
 * signature has a public OpenAI-format name (`extra_content.google.thought_signature`, from Google's
 * OpenAI-compatible API), so that is the one mapped; the spec keeps it as `google.thoughtSignature`.
 */
export function extraContentToOpenAI(metadata: ProviderMetadataV1 | undefined): { extra_content: ExtraContent } | undefined {
  const signature = metadata?.google?.thoughtSignature;
  return typeof signature === 'string' && signature !== '' ? { extra_content: { google: { thought_signature: signature } } } : undefined;
}

function providerMetadataOf(extra: ExtraContent | null | undefined): { providerMetadata: ProviderMetadataV1 } | undefined {
  const signature = extra?.google?.thought_signature;
  return signature ? { providerMetadata: { google: { thoughtSignature: signature } } } : undefined;
}

type Content = NonNullable<Exclude<ChatMessage, { role: 'function' }>['content']>;

/** A message's words: text parts, and an assistant's refusal parts (what it said it would not do is what it said). */
function textOf(content: Content | null | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : '')).join('');
}

function toMessage(message: ChatMessage): MessageV1 {
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOf(message.content) };
    case 'user':
      return {
        role: 'user',
        content:
          typeof message.content === 'string'
            ? message.content
            : message.content.map((part): ContentPartV1 => {
                if (part.type === 'text') return { type: 'text', text: part.text };
                // The detail goes to the provider: budgets reserve an image's worst case by it (cost-estimate.ts).
                const detail = imageDetailOf(part.image_url.detail);
                return { type: 'image_url', url: part.image_url.url, ...(detail ? { detail } : {}) };
              }),
      };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content == null ? null : textOf(message.content),
        ...(message.tool_calls?.length
          ? { toolCalls: message.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments, ...providerMetadataOf(c.extra_content) })) }
          : {}),
        ...providerMetadataOf(message.extra_content),
      };
    case 'tool':
      return { role: 'tool', toolCallId: message.tool_call_id, content: textOf(message.content) };
    case 'function':
      // The schema refuses these; kept so the switch covers every role.
      throw new AppError('invalid_request', 'role "function" is not supported; use role "tool".', { param: 'messages' });
  }
}

function toTool(tool: NonNullable<ChatCompletionBody['tools']>[number]): ToolDefinitionV1 {
  const { name, description, parameters, strict } = tool.function;
  return { name, ...(description ? { description } : {}), ...(parameters ? { parameters } : {}), ...(strict != null ? { strict } : {}) };
}

function toResponseFormat(format: NonNullable<ChatCompletionBody['response_format']>): ResponseFormatV1 {
  if (format.type !== 'json_schema') return { type: format.type };
  const { name, schema, strict } = format.json_schema;
  return { type: 'json_schema', name, schema: schema ?? {}, ...(strict != null ? { strict } : {}) };
}

/** OpenAI chat request → the normalised request every adapter understands. */
export function toGenerateOptions(body: ChatCompletionBody): GenerateOptionsV1 {
  // Length, stop and sampling as a kb/<collection> chat reads them (@quire/contracts samplingOptionsOf).
  const options: GenerateOptionsV1 = { messages: body.messages.map(toMessage), ...samplingOptionsOf(body) };
  if (body.tools?.length) options.tools = body.tools.map(toTool);
  if (body.tool_choice) options.toolChoice = typeof body.tool_choice === 'string' ? body.tool_choice : { name: body.tool_choice.function.name };
  // `true` is every provider's default, so only `false` travels (and is refused where it cannot be honoured).
  if (body.parallel_tool_calls === false) options.parallelToolCalls = false;
  if (body.response_format) options.responseFormat = toResponseFormat(body.response_format);
  return options;
}

export function finishReasonToOpenAI(reason: FinishReasonV1): string {
  return reason === 'error' || reason === 'other' ? 'stop' : reason;
}

export function usageToOpenAI(usage: UsageV1) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

export function completionToOpenAI(id: string, model: string, created: number, result: GenerateResultV1) {
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: result.toolCalls.length > 0 && result.text === '' ? null : result.text,
          refusal: null,
          // DeepSeek's field, as the stream sends it in deltas.
          ...(result.reasoning ? { reasoning_content: result.reasoning } : {}),
          ...(result.toolCalls.length
            ? { tool_calls: result.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments }, ...extraContentToOpenAI(c.providerMetadata) })) }
            : {}),
          ...extraContentToOpenAI(result.providerMetadata),
        },
        logprobs: null,
        finish_reason: finishReasonToOpenAI(result.finishReason),
      },
    ],
    usage: usageToOpenAI(result.usage),
  };
}

/** One streamed tool-call fragment as an OpenAI `delta.tool_calls[]` entry; the first carries id, name and any signature. */
export function toolCallDeltaToOpenAI(part: Extract<StreamPartV1, { type: 'tool-call-delta' }>) {
  return {
    index: part.index,
    ...(part.id ? { id: part.id, type: 'function' } : {}),
    function: { ...(part.name ? { name: part.name } : {}), arguments: part.argumentsDelta },
    ...extraContentToOpenAI(part.providerMetadata),
  };
}

import type { ContentPartV1, FinishReasonV1, GenerateOptionsV1, GenerateResultV1, MessageV1, UsageV1 } from '@quire/models';
import type { ChatCompletionBody, ChatMessage } from './validators.js';

function textOf(content: ChatMessage['content'] | null | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
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
            : message.content.map((part): ContentPartV1 => (part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image_url', url: part.image_url.url })),
      };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content == null ? null : textOf(message.content),
        ...(message.tool_calls?.length
          ? { toolCalls: message.tool_calls.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })) }
          : {}),
      };
    case 'tool':
      return { role: 'tool', toolCallId: message.tool_call_id, content: textOf(message.content) };
  }
}

/** OpenAI chat request → the normalised request every adapter understands. */
export function toGenerateOptions(body: ChatCompletionBody): GenerateOptionsV1 {
  const maxOutputTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const options: GenerateOptionsV1 = { messages: body.messages.map(toMessage) };
  if (maxOutputTokens != null) options.maxOutputTokens = maxOutputTokens;
  if (body.temperature != null) options.temperature = body.temperature;
  if (body.top_p != null) options.topP = body.top_p;
  if (body.stop != null) options.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  if (body.seed != null) options.seed = body.seed;
  if (body.tools?.length) {
    options.tools = body.tools.map((t) => ({
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      ...(t.function.parameters ? { parameters: t.function.parameters } : {}),
    }));
  }
  if (body.tool_choice) options.toolChoice = typeof body.tool_choice === 'string' ? body.tool_choice : { name: body.tool_choice.function.name };
  if (body.response_format) {
    const rf = body.response_format;
    options.responseFormat = rf.type === 'json_schema' ? { type: 'json_schema', name: rf.json_schema.name, schema: rf.json_schema.schema ?? {} } : rf;
  }
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
            ? { tool_calls: result.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
            : {}),
        },
        logprobs: null,
        finish_reason: finishReasonToOpenAI(result.finishReason),
      },
    ],
    usage: usageToOpenAI(result.usage),
  };
}

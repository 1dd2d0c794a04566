import type {
  FinishReasonV1,
  GenerateOptionsV1,
  GenerateResultV1,
  GenerationModelV1,
  MessageV1,
  StreamPartV1,
  StreamResultV1,
  ToolCallV1,
} from '../../spec/generation/generation-model-v1.js';
import { emptyUsage, type UsageV1 } from '../../spec/usage.js';
import { parseSSE } from '../../sse.js';
import { guardStream, joinURL, parseEventJson, parseWith, postJson, readJson, badResponse, streamCutOff } from '../shared/http.js';
import { openAIChatResponseSchema, openAIChunkSchema, type OpenAIUsage } from './openai-compatible-api-types.js';
import { openAIStreamError } from './openai-compatible-error.js';
import type { OpenAICompatibleConfig } from './openai-compatible-provider.js';

const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Normalises OpenAI-style usage (providers.md §10.2): `prompt_tokens` already includes cached
 * tokens and `completion_tokens` already includes reasoning, which is exactly what UsageV1 wants.
 */
export function normalizeOpenAIUsage(usage: OpenAIUsage): UsageV1 {
  if (!usage) return emptyUsage(false);
  const cached = Math.max(usage.prompt_tokens_details?.cached_tokens ?? 0, usage.prompt_cache_hit_tokens ?? 0);
  return {
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
    cachedInputTokens: cached,
    cacheWriteInputTokens: usage.prompt_tokens_details?.cache_write_tokens ?? 0,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
    searchUnits: 0,
    reported: true,
  };
}

export function mapOpenAIFinishReason(reason: string | null | undefined): FinishReasonV1 {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
    case 'model_length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    case 'error':
      return 'error';
    default:
      return 'other';
  }
}

function toOpenAIMessage(message: MessageV1): Record<string, unknown> {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return {
        role: 'user',
        content:
          typeof message.content === 'string'
            ? message.content
            : message.content.map((part) =>
                part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image_url', image_url: { url: part.url, ...(part.detail ? { detail: part.detail } : {}) } },
              ),
      };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length && {
          tool_calls: message.toolCalls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          })),
        }),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

export class OpenAICompatibleChatModel implements GenerationModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;

  constructor(
    readonly modelId: string,
    private readonly config: OpenAICompatibleConfig,
  ) {
    this.provider = config.provider;
  }

  private requestBody(options: GenerateOptionsV1, stream: boolean): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: this.modelId,
      messages: options.messages.map(toOpenAIMessage),
    };
    if (options.maxOutputTokens !== undefined) body[this.config.maxTokensField] = options.maxOutputTokens;
    if (options.temperature !== undefined) body.temperature = options.temperature;
    if (options.topP !== undefined) body.top_p = options.topP;
    if (options.stop?.length) body.stop = options.stop;
    if (options.seed !== undefined) body[this.config.seedField] = options.seed;
    if (options.tools?.length) {
      body.tools = options.tools.map((tool) => ({
        type: 'function',
        function: {
          name: tool.name,
          ...(tool.description !== undefined && { description: tool.description }),
          parameters: tool.parameters ?? { type: 'object', properties: {} },
          ...(tool.strict !== undefined && { strict: tool.strict }),
        },
      }));
      // OpenAI refuses parallel_tool_calls without tools, and without tools it means nothing.
      if (options.parallelToolCalls !== undefined) body.parallel_tool_calls = options.parallelToolCalls;
    }
    if (options.toolChoice !== undefined) {
      body.tool_choice =
        typeof options.toolChoice === 'string' ? options.toolChoice : { type: 'function', function: { name: options.toolChoice.name } };
    }
    const format = options.responseFormat;
    if (format?.type === 'json_schema') {
      body.response_format = {
        type: 'json_schema',
        json_schema: { name: format.name, schema: format.schema, ...(format.strict !== undefined && { strict: format.strict }) },
      };
    } else if (format) {
      body.response_format = { type: format.type };
    }
    if (options.presencePenalty !== undefined) body.presence_penalty = options.presencePenalty;
    if (options.frequencyPenalty !== undefined) body.frequency_penalty = options.frequencyPenalty;
    if (options.logitBias !== undefined) body.logit_bias = options.logitBias;
    if (options.reasoningEffort !== undefined) body.reasoning_effort = options.reasoningEffort;
    if (options.verbosity !== undefined) body.verbosity = options.verbosity;
    if (stream) {
      body.stream = true;
      if (this.config.streamUsageOption) body.stream_options = { include_usage: true };
    }
    return body;
  }

  private post(options: GenerateOptionsV1, stream: boolean) {
    return postJson({
      provider: this.provider,
      url: this.config.url?.('chat/completions', this.modelId) ?? joinURL(this.config.baseURL, 'chat/completions'),
      headers: this.config.headers(options.headers),
      body: this.requestBody(options, stream),
      fetch: this.config.fetch,
      abortSignal: options.abortSignal,
      requestIdHeader: this.config.requestIdHeader ?? REQUEST_ID_HEADER,
    });
  }

  async doGenerate(options: GenerateOptionsV1): Promise<GenerateResultV1> {
    const result = await this.post(options, false);
    const body = await readJson(this.provider, result, openAIChatResponseSchema, options.abortSignal);
    const choice = body.choices[0];
    if (!choice) throw badResponse(this.provider, 'the response has no choices.', result.requestId, undefined, body);
    const toolCalls: ToolCallV1[] = (choice.message.tool_calls ?? []).map((call, i) => ({
      id: call.id ?? `call_${i}`,
      name: call.function.name ?? '',
      arguments: call.function.arguments ?? '',
    }));
    const reasoning = choice.message.reasoning_content ?? choice.message.reasoning ?? undefined;
    return {
      text: choice.message.content ?? '',
      ...(reasoning && { reasoning }),
      toolCalls,
      finishReason: mapOpenAIFinishReason(choice.finish_reason),
      usage: normalizeOpenAIUsage(body.usage),
      requestId: result.requestId,
      responseModelId: body.model ?? undefined,
    };
  }

  async doStream(options: GenerateOptionsV1): Promise<StreamResultV1> {
    const result = await this.post(options, true);
    const { response, requestId } = result;
    const provider = this.provider;
    let responseModelId: string | undefined;

    async function* parts(): AsyncGenerator<StreamPartV1> {
      if (!response.body) throw badResponse(provider, 'the stream has no body.', requestId);
      let finishReason: string | undefined;
      let usage: UsageV1 | undefined;
      let done = false;
      for await (const event of parseSSE(guardStream(provider, response.body, options.abortSignal))) {
        // Read on to the end of the body after [DONE] (the server ends it right away): leaving the
        // loop early would destroy the response and with it a keep-alive connection to the provider.
        if (done) continue;
        const data = event.data.trim();
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        if (data === '') continue;
        const json = parseEventJson(provider, data, requestId);
        if (event.event === 'error' || (typeof json === 'object' && json !== null && 'error' in json)) {
          throw openAIStreamError(provider, json, requestId);
        }
        const chunk = parseWith(provider, openAIChunkSchema, json, requestId);
        responseModelId ??= chunk.model ?? undefined;
        const chunkUsage = chunk.usage ?? chunk.x_groq?.usage;
        if (chunkUsage) usage = normalizeOpenAIUsage(chunkUsage);
        // Only the first choice is surfaced; `n > 1` is not part of the spec.
        const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
        if (!choice) continue;
        const delta = choice.delta;
        const reasoning = delta?.reasoning_content ?? delta?.reasoning;
        if (reasoning) yield { type: 'reasoning-delta', text: reasoning };
        if (delta?.content) yield { type: 'text-delta', text: delta.content };
        for (const [position, call] of (delta?.tool_calls ?? []).entries()) {
          yield {
            type: 'tool-call-delta',
            index: call.index ?? position,
            ...(call.id && { id: call.id }),
            ...(call.function?.name && { name: call.function.name }),
            argumentsDelta: call.function?.arguments ?? '',
          };
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      if (!done && finishReason === undefined) throw streamCutOff(provider, requestId);
      // The usage chunk follows the finish_reason chunk, so finish is only known at the end.
      if (finishReason !== undefined || usage !== undefined) {
        yield { type: 'finish', finishReason: mapOpenAIFinishReason(finishReason), usage: usage ?? emptyUsage(false) };
      }
    }

    return {
      stream: parts(),
      requestId,
      get responseModelId() {
        return responseModelId;
      },
    };
  }
}

import type {
  FinishReasonV1,
  GenerateOptionsV1,
  GenerateResultV1,
  GenerationModelV1,
  StreamPartV1,
  StreamResultV1,
  ToolCallV1,
} from '../../spec/generation/generation-model-v1.js';
import { emptyUsage, type UsageV1 } from '../../spec/usage.js';
import { parseSSE } from '../../sse.js';
import { guardStream, joinURL, parseEventJson, parseWith, postJson, readJson, badResponse, streamCutOff } from '../shared/http.js';
import { anthropicMessageSchema, anthropicStreamEventSchema, type AnthropicStreamEvent, type AnthropicUsage } from './anthropic-api-types.js';
import { anthropicStreamError } from './anthropic-error.js';
import { toAnthropicMessages, toAnthropicToolChoice, toAnthropicTools } from './anthropic-messages.js';
import type { AnthropicConfig } from './anthropic-provider.js';
import { refuseSettings, unsupported } from '../shared/unsupported-settings.js';

/** The Messages API requires max_tokens; this is what we send when the caller gave none. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;
const REQUEST_ID_HEADER = 'request-id';

/**
 * Anthropic's `input_tokens` excludes cache reads and writes (providers.md §4.2). UsageV1's
 * `inputTokens` means "every prompt token" for all providers, so we add them back here and report
 * the cache parts separately: the price book bills `inputTokens - cached - cacheWrite` at the base rate.
 */
export function normalizeAnthropicUsage(usage: AnthropicUsage | null | undefined): UsageV1 {
  if (!usage) return emptyUsage(false);
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheWrite = usage.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: (usage.input_tokens ?? 0) + cacheRead + cacheWrite,
    outputTokens: usage.output_tokens ?? 0,
    cachedInputTokens: cacheRead,
    cacheWriteInputTokens: cacheWrite,
    reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0,
    searchUnits: 0,
    reported: true,
  };
}

export function mapAnthropicStopReason(reason: string | null | undefined): FinishReasonV1 {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

/** Later usage values replace earlier ones field by field; null/absent means "unchanged" (§4.3). */
function overwriteUsage(current: AnthropicUsage, next: AnthropicUsage | null | undefined): AnthropicUsage {
  if (!next) return current;
  const merged: AnthropicUsage = { ...current };
  for (const [key, value] of Object.entries(next) as [keyof AnthropicUsage, never][]) {
    if (value !== null && value !== undefined) merged[key] = value;
  }
  return merged;
}

export class AnthropicChatModel implements GenerationModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;

  constructor(
    readonly modelId: string,
    private readonly config: AnthropicConfig,
  ) {
    this.provider = config.provider;
  }

  /**
   * Structured outputs (`output_config.format`, Claude 4.5 and later) take a JSON schema and always
   * decode strictly; there is no schema-less JSON mode, so `json_object` is refused.
   */
  private outputFormat(options: GenerateOptionsV1): Record<string, unknown> | undefined {
    const format = options.responseFormat;
    if (format?.type === 'json_object') {
      throw unsupported(this.provider, 'responseFormat', 'Anthropic has no JSON mode without a schema (response_format json_object); send a json_schema response format instead.');
    }
    return format?.type === 'json_schema' ? { type: 'json_schema', schema: format.schema } : undefined;
  }

  private requestBody(options: GenerateOptionsV1, stream: boolean): Record<string, unknown> {
    refuseSettings(this.provider, 'Anthropic', options, ['presencePenalty', 'frequencyPenalty', 'logitBias', 'reasoningEffort', 'verbosity']);
    const { system, messages } = toAnthropicMessages(this.provider, options.messages);
    const body: Record<string, unknown> = {
      model: this.modelId,
      max_tokens: options.maxOutputTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
      messages,
    };
    if (system !== undefined) body.system = system;
    if (options.temperature !== undefined) body.temperature = options.temperature;
    if (options.topP !== undefined) body.top_p = options.topP;
    if (options.stop?.length) body.stop_sequences = options.stop;
    if (options.tools?.length) body.tools = toAnthropicTools(options.tools);
    const serial = options.parallelToolCalls === false && Boolean(options.tools?.length);
    if ((options.toolChoice !== undefined && (options.tools?.length || options.toolChoice === 'none')) || serial) {
      body.tool_choice = toAnthropicToolChoice(options.toolChoice ?? 'auto', serial);
    }
    const format = this.outputFormat(options);
    if (format) body.output_config = { format };
    // `seed` has no Messages API equivalent and is not sent.
    if (stream) body.stream = true;
    return body;
  }

  private post(options: GenerateOptionsV1, stream: boolean) {
    return postJson({
      provider: this.provider,
      url: joinURL(this.config.baseURL, 'messages'),
      headers: this.config.headers(options.headers),
      body: this.requestBody(options, stream),
      fetch: this.config.fetch,
      abortSignal: options.abortSignal,
      requestIdHeader: REQUEST_ID_HEADER,
    });
  }

  async doGenerate(options: GenerateOptionsV1): Promise<GenerateResultV1> {
    const result = await this.post(options, false);
    const body = await readJson(this.provider, result, anthropicMessageSchema, options.abortSignal);
    let text = '';
    let reasoning = '';
    const toolCalls: ToolCallV1[] = [];
    for (const block of body.content) {
      if ('text' in block) text += block.text;
      else if ('thinking' in block) reasoning += block.thinking;
      else if ('id' in block && 'name' in block) toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) });
    }
    return {
      text,
      ...(reasoning && { reasoning }),
      toolCalls,
      finishReason: mapAnthropicStopReason(body.stop_reason),
      usage: normalizeAnthropicUsage(body.usage),
      requestId: result.requestId,
      responseModelId: body.model ?? undefined,
    };
  }

  async doStream(options: GenerateOptionsV1): Promise<StreamResultV1> {
    const { response, requestId } = await this.post(options, true);
    const provider = this.provider;
    let responseModelId: string | undefined;

    async function* parts(): AsyncGenerator<StreamPartV1> {
      if (!response.body) throw badResponse(provider, 'the stream has no body.', requestId);
      let usage: AnthropicUsage | undefined;
      let stopReason: string | undefined;
      // Content-block index -> tool-call index, so tool calls are numbered 0.. like OpenAI's.
      const toolIndex = new Map<number, number>();
      for await (const sse of parseSSE(guardStream(provider, response.body, options.abortSignal))) {
        if (sse.data.trim() === '') continue;
        const json = parseEventJson(provider, sse.data, requestId);
        const event = parseWith(provider, anthropicStreamEventSchema, json, requestId);
        if (sse.event === 'error' || event.type === 'error') throw anthropicStreamError(provider, json, requestId);
        if ('message' in event) {
          responseModelId = event.message.model ?? undefined;
          usage = overwriteUsage({}, event.message.usage);
        } else if ('content_block' in event) {
          const block = event.content_block;
          if ('id' in block && 'name' in block) {
            const index = toolIndex.size;
            toolIndex.set(event.index, index);
            // The real API starts with `input: {}` and streams the JSON; some proxies send it whole.
            const initial = block.input && typeof block.input === 'object' && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : '';
            yield { type: 'tool-call-delta', index, id: block.id, name: block.name, argumentsDelta: initial };
          } else if ('text' in block && block.text) {
            yield { type: 'text-delta', text: block.text };
          }
        } else if ('delta' in event && 'index' in event) {
          const delta = event.delta;
          if ('text' in delta) yield { type: 'text-delta', text: delta.text };
          else if ('thinking' in delta) yield { type: 'reasoning-delta', text: delta.thinking };
          else if ('partial_json' in delta) {
            const index = toolIndex.get(event.index);
            if (index !== undefined && delta.partial_json !== '') yield { type: 'tool-call-delta', index, argumentsDelta: delta.partial_json };
          }
        } else if (event.type === 'message_delta') {
          const messageDelta = event as Extract<AnthropicStreamEvent, { type: 'message_delta' }>;
          usage = overwriteUsage(usage ?? {}, messageDelta.usage);
          if (messageDelta.delta?.stop_reason) stopReason = messageDelta.delta.stop_reason;
        } else if (event.type === 'message_stop') {
          yield { type: 'finish', finishReason: mapAnthropicStopReason(stopReason), usage: normalizeAnthropicUsage(usage) };
          return;
        }
      }
      // Ended without message_stop: with a stop reason the answer is whole but its final usage may be
      // missing, so that only counts as an estimate; without one the connection was cut mid-answer.
      if (stopReason === undefined) throw streamCutOff(provider, requestId);
      yield { type: 'finish', finishReason: mapAnthropicStopReason(stopReason), usage: { ...normalizeAnthropicUsage(usage), reported: false } };
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

import { z } from 'zod';
import { providerErrorFromResponse } from '../../errors/provider-error-from-response.js';
import type {
  FinishReasonV1,
  GenerateOptionsV1,
  GenerateResultV1,
  GenerationModelV1,
  StreamPartV1,
  StreamResultV1,
  ToolCallV1,
} from '../../spec/generation/generation-model-v1.js';
import type { UsageV1 } from '../../spec/usage.js';
import { badResponse, guardStream, joinURL, parseEventJson, parseWith, postJson, readJson, streamCutOff } from '../shared/http.js';
import { toOllamaMessages, toOllamaTools } from './ollama-messages.js';
import { parseNDJSONLines } from './ollama-ndjson.js';
import type { OllamaConfig } from './ollama-provider.js';
import { refuseSerialToolCalls, refuseSettings, refuseStrictTools, unsupported } from '../shared/unsupported-settings.js';

const chatObjectSchema = z.object({
  model: z.string().nullish(),
  message: z
    .object({
      content: z.string().nullish(),
      thinking: z.string().nullish(),
      tool_calls: z.array(z.object({ id: z.string().nullish(), function: z.object({ name: z.string(), arguments: z.unknown() }) })).nullish(),
    })
    .nullish(),
  done: z.boolean().nullish(),
  done_reason: z.string().nullish(),
  prompt_eval_count: z.number().nullish(),
  eval_count: z.number().nullish(),
});

type ChatObject = z.output<typeof chatObjectSchema>;

/** Counts come from the final (`done: true`) object; `prompt_eval_count` is omitted when the prompt was cached. */
export function normalizeOllamaUsage(object: ChatObject): UsageV1 {
  return { inputTokens: object.prompt_eval_count ?? 0, outputTokens: object.eval_count ?? 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true };
}

export function mapOllamaDoneReason(reason: string | null | undefined, hasToolCalls: boolean): FinishReasonV1 {
  if (hasToolCalls) return 'tool_calls';
  if (reason === 'stop') return 'stop';
  if (reason === 'length') return 'length';
  return 'other';
}

function argumentsText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? {});
}

export class OllamaChatModel implements GenerationModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;

  constructor(
    readonly modelId: string,
    private readonly config: OllamaConfig,
  ) {
    this.provider = config.provider;
  }

  private requestBody(options: GenerateOptionsV1, stream: boolean): Record<string, unknown> {
    refuseSettings(this.provider, 'Ollama', options, ['logitBias', 'reasoningEffort', 'verbosity']);
    refuseSerialToolCalls(this.provider, 'Ollama', options);
    refuseStrictTools(this.provider, 'Ollama', options);
    // No tool_choice in the native API: "none" is honoured by not sending tools at all, "auto" is
    // the default, and nothing can force a call.
    const choice = options.toolChoice;
    if (choice !== undefined && choice !== 'auto' && choice !== 'none' && options.tools?.length) {
      const asked = typeof choice === 'object' ? `a call to "${choice.name}"` : 'a tool call ("required")';
      throw unsupported(this.provider, 'toolChoice', `Ollama cannot force ${asked} (tool_choice); use "auto" or "none", or a model that supports it.`);
    }
    const modelOptions: Record<string, unknown> = {};
    if (options.maxOutputTokens !== undefined) modelOptions.num_predict = options.maxOutputTokens;
    if (options.temperature !== undefined) modelOptions.temperature = options.temperature;
    if (options.topP !== undefined) modelOptions.top_p = options.topP;
    if (options.stop?.length) modelOptions.stop = options.stop;
    if (options.seed !== undefined) modelOptions.seed = options.seed;
    if (options.presencePenalty !== undefined) modelOptions.presence_penalty = options.presencePenalty;
    if (options.frequencyPenalty !== undefined) modelOptions.frequency_penalty = options.frequencyPenalty;
    // `format` constrains decoding to the schema, so `strict` on a json_schema format is honoured too.
    const format = options.responseFormat;
    const tools = options.toolChoice === 'none' ? undefined : options.tools;
    return {
      model: this.modelId,
      messages: toOllamaMessages(this.provider, options.messages),
      // `stream` defaults to true on Ollama, so it is always sent explicitly.
      stream,
      ...(tools?.length && { tools: toOllamaTools(tools) }),
      ...(format?.type === 'json_object' && { format: 'json' }),
      ...(format?.type === 'json_schema' && { format: format.schema }),
      ...(Object.keys(modelOptions).length > 0 && { options: modelOptions }),
    };
  }

  private post(options: GenerateOptionsV1, stream: boolean) {
    return postJson({
      provider: this.provider,
      url: joinURL(this.config.baseURL, 'api/chat'),
      headers: this.config.headers(options.headers),
      body: this.requestBody(options, stream),
      fetch: this.config.fetch,
      abortSignal: options.abortSignal,
      requestIdHeader: 'x-request-id',
    });
  }

  async doGenerate(options: GenerateOptionsV1): Promise<GenerateResultV1> {
    const result = await this.post(options, false);
    const body = await readJson(this.provider, result, chatObjectSchema, options.abortSignal);
    const toolCalls: ToolCallV1[] = (body.message?.tool_calls ?? []).map((call, i) => ({ id: call.id ?? `call_${i}`, name: call.function.name, arguments: argumentsText(call.function.arguments) }));
    const reasoning = body.message?.thinking ?? undefined;
    return {
      text: body.message?.content ?? '',
      ...(reasoning && { reasoning }),
      toolCalls,
      finishReason: mapOllamaDoneReason(body.done_reason, toolCalls.length > 0),
      usage: normalizeOllamaUsage(body),
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
      let toolCalls = 0;
      for await (const line of parseNDJSONLines(guardStream(provider, response.body, options.abortSignal))) {
        const json = parseEventJson(provider, line, requestId);
        // A failure after HTTP 200 arrives as a `{"error": "..."}` line with no status of its own.
        if (typeof json === 'object' && json !== null && 'error' in json) throw providerErrorFromResponse(provider, 500, {}, json);
        const object = parseWith(provider, chatObjectSchema, json, requestId);
        responseModelId ??= object.model ?? undefined;
        if (object.message?.thinking) yield { type: 'reasoning-delta', text: object.message.thinking };
        if (object.message?.content) yield { type: 'text-delta', text: object.message.content };
        for (const call of object.message?.tool_calls ?? []) {
          const index = toolCalls++;
          yield { type: 'tool-call-delta', index, id: call.id ?? `call_${index}`, name: call.function.name, argumentsDelta: argumentsText(call.function.arguments) };
        }
        if (object.done) {
          yield { type: 'finish', finishReason: mapOllamaDoneReason(object.done_reason, toolCalls > 0), usage: normalizeOllamaUsage(object) };
          return;
        }
      }
      throw streamCutOff(provider, requestId);
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

import type {
  FinishReasonV1,
  GenerateOptionsV1,
  GenerateResultV1,
  GenerationModelV1,
  ReasoningEffortV1,
  StreamPartV1,
  StreamResultV1,
  ToolCallV1,
} from '../../spec/generation/generation-model-v1.js';
import { emptyUsage, type UsageV1 } from '../../spec/usage.js';
import { parseSSE } from '../../sse.js';
import { badResponse, guardStream, parseEventJson, parseWith, postJson, readJson, streamCutOff } from '../shared/http.js';
import { geminiResponseSchema, type GeminiResponse, type GeminiUsage } from './gemini-api-types.js';
import { asGeminiError, geminiStreamError } from './gemini-error.js';
import { toGeminiContents, toGeminiToolConfig, toGeminiTools } from './gemini-messages.js';
import type { GeminiConfig } from './gemini-provider.js';
import { requiresThoughtSignatures, thoughtSignatureMetadata } from './gemini-thought-signature.js';
import { refuseSerialToolCalls, refuseSettings, unsupported } from '../shared/unsupported-settings.js';

const THINKING_LEVELS = new Set<string>(['minimal', 'low', 'medium', 'high']);
/** Gemini 3 and later set thinking by level; the same models that require thought signatures. */
const usesThinkingLevels = requiresThoughtSignatures;

/**
 * `promptTokenCount` includes cached tokens (as UsageV1 wants) but `candidatesTokenCount` excludes
 * thinking, so thoughts are added to the output (providers.md §5.2, §10.2). Tool-use prompt tokens are input.
 */
export function normalizeGeminiUsage(usage: GeminiUsage): UsageV1 {
  if (!usage) return emptyUsage(false);
  const thoughts = usage.thoughtsTokenCount ?? 0;
  return {
    inputTokens: (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0),
    outputTokens: (usage.candidatesTokenCount ?? 0) + thoughts,
    cachedInputTokens: usage.cachedContentTokenCount ?? 0,
    cacheWriteInputTokens: 0,
    reasoningTokens: thoughts,
    searchUnits: 0,
    reported: true,
  };
}

/** A function call still ends with STOP, so callers pass whether the answer held function calls. */
export function mapGeminiFinishReason(reason: string | null | undefined, hasToolCalls: boolean): FinishReasonV1 {
  switch (reason) {
    case 'STOP':
      return hasToolCalls ? 'tool_calls' : 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'LANGUAGE':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content_filter';
    case 'MALFORMED_FUNCTION_CALL':
    case 'UNEXPECTED_TOOL_CALL':
      return 'error';
    default:
      return hasToolCalls ? 'tool_calls' : 'other';
  }
}

function partsOf(response: GeminiResponse) {
  return response.candidates?.[0]?.content?.parts ?? [];
}

export class GeminiChatModel implements GenerationModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider: string;

  constructor(
    readonly modelId: string,
    private readonly config: GeminiConfig,
  ) {
    this.provider = config.provider;
  }

  /**
   * `reasoning_effort` is Gemini 3's `thinkingLevel` (minimal, low, medium, high; a model answers 400
   * to a level it lacks). Gemini 2.5 and older take a token budget instead, with no documented
   * mapping from an effort, and no Gemini turns thinking off (`none`) or past high (`xhigh`).
   */
  private thinkingLevel(effort: ReasoningEffortV1): string {
    if (usesThinkingLevels(this.modelId) && THINKING_LEVELS.has(effort)) return effort;
    const why = usesThinkingLevels(this.modelId) ? `has no thinking level "${effort}"` : 'sets thinking by a token budget, not a reasoning effort';
    throw unsupported(this.provider, 'reasoningEffort', `Gemini model "${this.modelId}" ${why} (reasoning_effort); leave it out, or use a model that supports it.`);
  }

  private requestBody(options: GenerateOptionsV1): Record<string, unknown> {
    refuseSettings(this.provider, 'Gemini', options, ['logitBias', 'verbosity']);
    refuseSerialToolCalls(this.provider, 'Gemini', options);
    const strictTools = options.tools?.some((tool) => tool.strict === true) === true;
    const { systemInstruction, contents } = toGeminiContents(this.provider, options.messages, { requireSignatures: requiresThoughtSignatures(this.modelId) });
    const generationConfig: Record<string, unknown> = {};
    if (options.maxOutputTokens !== undefined) generationConfig.maxOutputTokens = options.maxOutputTokens;
    if (options.temperature !== undefined) generationConfig.temperature = options.temperature;
    if (options.topP !== undefined) generationConfig.topP = options.topP;
    if (options.stop?.length) generationConfig.stopSequences = options.stop;
    if (options.seed !== undefined) generationConfig.seed = options.seed;
    if (options.presencePenalty !== undefined) generationConfig.presencePenalty = options.presencePenalty;
    if (options.frequencyPenalty !== undefined) generationConfig.frequencyPenalty = options.frequencyPenalty;
    if (options.reasoningEffort !== undefined) generationConfig.thinkingConfig = { thinkingLevel: this.thinkingLevel(options.reasoningEffort) };
    // responseJsonSchema is decoded strictly, so `strict` on a json_schema format is honoured as well.
    const format = options.responseFormat;
    if (format && format.type !== 'text') generationConfig.responseMimeType = 'application/json';
    if (format?.type === 'json_schema') generationConfig.responseJsonSchema = format.schema;
    return {
      ...(systemInstruction && { systemInstruction }),
      contents,
      ...(options.tools?.length && { tools: toGeminiTools(options.tools) }),
      ...(options.tools?.length && (options.toolChoice !== undefined || strictTools) && { toolConfig: toGeminiToolConfig(options.toolChoice ?? 'auto', strictTools) }),
      ...(Object.keys(generationConfig).length > 0 && { generationConfig }),
    };
  }

  private async post(options: GenerateOptionsV1, stream: boolean) {
    const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
    try {
      return await postJson({
        provider: this.provider,
        url: this.config.modelURL(this.modelId, method),
        headers: this.config.headers(options.headers),
        body: this.requestBody(options),
        fetch: this.config.fetch,
        abortSignal: options.abortSignal,
        requestIdHeader: 'x-request-id',
      });
    } catch (error) {
      throw asGeminiError(this.provider, error);
    }
  }

  async doGenerate(options: GenerateOptionsV1): Promise<GenerateResultV1> {
    const result = await this.post(options, false);
    const body = await readJson(this.provider, result, geminiResponseSchema, options.abortSignal);
    let text = '';
    let reasoning = '';
    let textSignature: string | undefined;
    const toolCalls: ToolCallV1[] = [];
    for (const part of partsOf(body)) {
      if (part.functionCall) {
        const id = part.functionCall.id ?? `call_${toolCalls.length}`;
        toolCalls.push({ id, name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}), ...thoughtSignatureMetadata(part.thoughtSignature) });
      } else if (part.thought) {
        // Thoughts are never replayed, so a signature on one has nowhere to go back to.
        if (part.text) reasoning += part.text;
      } else {
        if (part.text) text += part.text;
        // The signature of a text answer sits on its last part (when streaming, often an empty one).
        if (part.thoughtSignature) textSignature = part.thoughtSignature;
      }
    }
    const candidate = body.candidates?.[0];
    // A blocked prompt has no candidates, only promptFeedback.blockReason.
    const finishReason = !candidate && body.promptFeedback?.blockReason ? 'content_filter' : mapGeminiFinishReason(candidate?.finishReason, toolCalls.length > 0);
    return {
      text,
      ...(reasoning && { reasoning }),
      toolCalls,
      finishReason,
      usage: normalizeGeminiUsage(body.usageMetadata),
      ...thoughtSignatureMetadata(textSignature),
      requestId: result.requestId ?? body.responseId ?? undefined,
      responseModelId: body.modelVersion ?? undefined,
    };
  }

  async doStream(options: GenerateOptionsV1): Promise<StreamResultV1> {
    const { response, requestId } = await this.post(options, true);
    const provider = this.provider;
    let responseModelId: string | undefined;

    async function* parts(): AsyncGenerator<StreamPartV1> {
      if (!response.body) throw badResponse(provider, 'the stream has no body.', requestId);
      let usage: GeminiUsage;
      let finishReason: string | undefined;
      let blocked = false;
      let toolCalls = 0;
      let textSignature: string | undefined;
      // No [DONE]: the body just ends. Usage on each chunk is a running total, so the last one wins.
      for await (const event of parseSSE(guardStream(provider, response.body, options.abortSignal))) {
        if (event.data.trim() === '') continue;
        const json = parseEventJson(provider, event.data, requestId);
        if (typeof json === 'object' && json !== null && 'error' in json) throw geminiStreamError(provider, json);
        const chunk = parseWith(provider, geminiResponseSchema, json, requestId);
        responseModelId ??= chunk.modelVersion ?? undefined;
        if (chunk.usageMetadata) usage = chunk.usageMetadata;
        if (chunk.promptFeedback?.blockReason) blocked = true;
        for (const part of partsOf(chunk)) {
          if (part.functionCall) {
            // Gemini sends each call whole in one part, so one delta carries id, name and all arguments.
            const index = toolCalls++;
            const call = part.functionCall;
            yield { type: 'tool-call-delta', index, id: call.id ?? `call_${index}`, name: call.name, argumentsDelta: JSON.stringify(call.args ?? {}), ...thoughtSignatureMetadata(part.thoughtSignature) };
          } else {
            if (part.text) yield { type: part.thought ? 'reasoning-delta' : 'text-delta', text: part.text };
            // A text answer's signature often arrives alone, on an empty part in the last chunk, so it rides on `finish`.
            if (!part.thought && part.thoughtSignature) textSignature = part.thoughtSignature;
          }
        }
        const reason = chunk.candidates?.[0]?.finishReason;
        if (reason) finishReason = reason;
      }
      // Without [DONE], only a finish reason (or a blocked prompt) tells a whole answer from a cut one.
      if (finishReason === undefined && !blocked) throw streamCutOff(provider, requestId);
      const mapped = finishReason === undefined ? 'content_filter' : mapGeminiFinishReason(finishReason, toolCalls > 0);
      yield { type: 'finish', finishReason: mapped, usage: normalizeGeminiUsage(usage), ...thoughtSignatureMetadata(textSignature) };
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

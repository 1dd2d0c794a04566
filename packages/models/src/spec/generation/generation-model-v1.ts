import type { CallOptionsV1, ResponseMetaV1 } from '../call-options.js';
import type { UsageV1 } from '../usage.js';

export interface ToolDefinitionV1 {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters?: Record<string, unknown>;
  /** The arguments must match `parameters` exactly (OpenAI `function.strict`, Anthropic `strict`). */
  strict?: boolean;
}

/**
 * Opaque data a provider attached to a piece of output that must travel back, unchanged, when that
 * output is replayed on a later turn (Gemini's `thoughtSignature`). Keyed by vendor (`google`), so an
 * adapter reads only its own key and every other adapter ignores the rest.
 */
export type ProviderMetadataV1 = Record<string, Record<string, unknown>>;

export interface ToolCallV1 {
  id: string;
  name: string;
  /** JSON-encoded arguments, exactly as the model produced them. */
  arguments: string;
  /** Provider data to send back with this call on the next turn (`google.thoughtSignature`). */
  providerMetadata?: ProviderMetadataV1;
}

/** How closely a model looks at an image (OpenAI's `detail`; it bills low detail far fewer tokens). Others ignore it. */
export type ImageDetailV1 = 'low' | 'high' | 'auto';

export type ContentPartV1 = { type: 'text'; text: string } | { type: 'image_url'; url: string; detail?: ImageDetailV1 };

/** The caller's `detail` when it is one a model takes, else undefined (the provider's default, `auto`). */
export function imageDetailOf(detail: unknown): ImageDetailV1 | undefined {
  return detail === 'low' || detail === 'high' || detail === 'auto' ? detail : undefined;
}

export type MessageV1 =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string | ContentPartV1[] }
  /** `providerMetadata` is what the answer's text carried (GenerateResultV1.providerMetadata), sent back with it. */
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCallV1[]; providerMetadata?: ProviderMetadataV1 }
  | { role: 'tool'; toolCallId: string; content: string };

export type ToolChoiceV1 = 'auto' | 'none' | 'required' | { name: string };

/** JSON output: any object, or one matching `schema` (`strict`: exactly, by constrained decoding). */
export type ResponseFormatV1 =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean };

/** How hard a reasoning model thinks, in OpenAI's words (`reasoning_effort`). */
export type ReasoningEffortV1 = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';

export type FinishReasonV1 = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'other';

/**
 * A request every adapter understands. An adapter honours each option it is given or throws an
 * UnsupportedFunctionalityError before it sends anything; it never drops one silently. One
 * exception: `seed`, which OpenAI itself documents as best effort (no determinism is promised), is
 * left out where an API has none (Anthropic) rather than refusing every request an eval harness sends.
 */
export interface GenerateOptionsV1 extends CallOptionsV1 {
  messages: MessageV1[];
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  tools?: ToolDefinitionV1[];
  toolChoice?: ToolChoiceV1;
  /** `false`: at most one tool call per answer. Absent (or true) lets the model call several at once. */
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormatV1;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Token id (as a string, in the model's own tokenizer) → bias from -100 to 100. */
  logitBias?: Record<string, number>;
  reasoningEffort?: ReasoningEffortV1;
  /** How long the answer should be (OpenAI `verbosity`). */
  verbosity?: 'low' | 'medium' | 'high';
}

export interface GenerateResultV1 extends ResponseMetaV1 {
  text: string;
  /** Reasoning text, where the provider exposes it (DeepSeek `reasoning_content`, Anthropic thinking). */
  reasoning?: string;
  toolCalls: ToolCallV1[];
  finishReason: FinishReasonV1;
  usage: UsageV1;
  /** Provider data that belongs to the answer's text rather than to a tool call (a Gemini signature on a text part). */
  providerMetadata?: ProviderMetadataV1;
}

export type StreamPartV1 =
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-delta'; text: string }
  /** The first delta of a call carries id and name (and any providerMetadata); later ones only an arguments fragment. */
  | { type: 'tool-call-delta'; index: number; id?: string; name?: string; argumentsDelta: string; providerMetadata?: ProviderMetadataV1 }
  /** `providerMetadata` is the text's, as in GenerateResultV1; a provider may send it only in its last chunk. */
  | { type: 'finish'; finishReason: FinishReasonV1; usage: UsageV1; providerMetadata?: ProviderMetadataV1 };

export interface StreamResultV1 extends ResponseMetaV1 {
  /**
   * Parts in order; ends after `finish`. A provider failure mid-stream is thrown from the iterator
   * as a ProviderError. If the iterator ends without `finish`, usage was never reported.
   */
  stream: AsyncIterable<StreamPartV1>;
}

/** Chat generation: the whole answer, or a stream of deltas. */
export interface GenerationModelV1 {
  readonly specificationVersion: 'v1';
  readonly provider: string;
  readonly modelId: string;
  doGenerate(options: GenerateOptionsV1): Promise<GenerateResultV1>;
  doStream(options: GenerateOptionsV1): Promise<StreamResultV1>;
}

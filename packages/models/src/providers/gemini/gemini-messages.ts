import { ProviderError } from '../../errors/provider-error.js';
import type { ContentPartV1, MessageV1, ToolChoiceV1, ToolDefinitionV1 } from '../../spec/generation/generation-model-v1.js';
import { SKIP_THOUGHT_SIGNATURE_VALIDATOR, thoughtSignatureOf } from './gemini-thought-signature.js';

type Part = Record<string, unknown>;
export interface GeminiContent {
  role: 'user' | 'model';
  parts: Part[];
}

const EXTENSION_MIME: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', heic: 'image/heic' };

function imagePart(url: string): Part {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (match) return { inlineData: { mimeType: match[1], data: match[2] } };
  const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase() ?? '';
  return { fileData: { mimeType: EXTENSION_MIME[extension] ?? 'image/jpeg', fileUri: url } };
}

function userParts(content: string | ContentPartV1[]): Part[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  return content.map((part) => (part.type === 'text' ? { text: part.text } : imagePart(part.url)));
}

function parseJson(provider: string, what: string, text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ProviderError({ code: 'provider_bad_request', provider, message: `${what} is not valid JSON, and Gemini needs an object.`, cause });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Index of the message that opens the current turn, the only part of the history Gemini 3 checks
 * for signatures: the last user message with content (tool results are user content in Gemini, but
 * belong to the turn they answer). -1 when there is none, so every step is in the current turn.
 */
function currentTurnStart(messages: MessageV1[]): number {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role === 'user' && userParts(message.content).length > 0) return i;
  }
  return -1;
}

/**
 * Converts normalised messages to Gemini `contents`: system prompts move to `systemInstruction`,
 * assistant turns become role `model` with `functionCall` parts, tool results become `functionResponse`
 * parts in a user turn (Gemini matches them by function name, so we look the name up from the call id),
 * and consecutive turns of one role are merged, as the API expects alternating roles.
 *
 * With `requireSignatures` (Gemini 3 and later), each step of the current turn whose first function
 * call has no signature (it came from another model) gets Google's documented placeholder, so the
 * request is not refused; a real signature is never replaced.
 */
export function toGeminiContents(
  provider: string,
  messages: MessageV1[],
  options: { requireSignatures?: boolean } = {},
): { systemInstruction?: { parts: Part[] }; contents: GeminiContent[] } {
  const turnStart = options.requireSignatures ? currentTurnStart(messages) : messages.length;
  const system: string[] = [];
  const contents: GeminiContent[] = [];
  const callNames = new Map<string, string>();
  const push = (role: 'user' | 'model', parts: Part[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const [index, message] of messages.entries()) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        push('user', userParts(message.content));
        break;
      case 'assistant': {
        // Signatures go back on the part they came on: the text's on the (one, joined) text part,
        // each call's on its functionCall part. Gemini 3 refuses a replayed call without one.
        const textSignature = thoughtSignatureOf(message.providerMetadata);
        const parts: Part[] = message.content ? [{ text: message.content, ...(textSignature && { thoughtSignature: textSignature }) }] : [];
        for (const [i, call] of (message.toolCalls ?? []).entries()) {
          callNames.set(call.id, call.name);
          const args = parseJson(provider, `Tool call "${call.name}" arguments`, call.arguments);
          // Only a step's first call is checked (parallel calls after it are never signed).
          const placeholder = i === 0 && index > turnStart ? SKIP_THOUGHT_SIGNATURE_VALIDATOR : undefined;
          const signature = thoughtSignatureOf(call.providerMetadata) ?? placeholder;
          parts.push({ functionCall: { name: call.name, args: isObject(args) ? args : {} }, ...(signature && { thoughtSignature: signature }) });
        }
        push('model', parts);
        break;
      }
      case 'tool': {
        const name = callNames.get(message.toolCallId) ?? message.toolCallId;
        let value: unknown;
        try {
          value = JSON.parse(message.content) as unknown;
        } catch {
          value = message.content;
        }
        // `response` must be a JSON object (a protobuf Struct); anything else is wrapped.
        push('user', [{ functionResponse: { name, response: isObject(value) ? value : { result: value } } }]);
        break;
      }
    }
  }
  return { ...(system.length > 0 && { systemInstruction: { parts: [{ text: system.join('\n\n') }] } }), contents };
}

export function toGeminiTools(tools: ToolDefinitionV1[]): Part[] {
  return [
    {
      functionDeclarations: tools.map((tool) => ({
        name: tool.name,
        ...(tool.description !== undefined && { description: tool.description }),
        // parametersJsonSchema takes full JSON Schema; `parameters` only an OpenAPI subset.
        ...(tool.parameters !== undefined && { parametersJsonSchema: tool.parameters }),
      })),
    },
  ];
}

/**
 * `strict` tools (arguments must match their schema) need constrained decoding of function calls.
 * Gemini's `ANY` mode (a call is required) already validates calls against their declarations;
 * under `auto` that is the `VALIDATED` mode: text or a call, and a call decoded to its schema.
 * https://ai.google.dev/api/caching#FunctionCallingConfig
 */
export function toGeminiToolConfig(choice: ToolChoiceV1, strict = false): Part {
  if (typeof choice === 'object') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } };
  const mode = choice === 'required' ? 'ANY' : choice === 'none' ? 'NONE' : strict ? 'VALIDATED' : 'AUTO';
  return { functionCallingConfig: { mode } };
}

import { ProviderError } from '../../errors/provider-error.js';
import type { ContentPartV1, MessageV1, ToolChoiceV1, ToolDefinitionV1 } from '../../spec/generation/generation-model-v1.js';
import { thoughtSignatureOf } from './gemini-thought-signature.js';

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
 * Converts normalised messages to Gemini `contents`: system prompts move to `systemInstruction`,
 * assistant turns become role `model` with `functionCall` parts, tool results become `functionResponse`
 * parts in a user turn (Gemini matches them by function name, so we look the name up from the call id),
 * and consecutive turns of one role are merged, as the API expects alternating roles.
 */
export function toGeminiContents(provider: string, messages: MessageV1[]): { systemInstruction?: { parts: Part[] }; contents: GeminiContent[] } {
  const system: string[] = [];
  const contents: GeminiContent[] = [];
  const callNames = new Map<string, string>();
  const push = (role: 'user' | 'model', parts: Part[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const message of messages) {
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
        for (const call of message.toolCalls ?? []) {
          callNames.set(call.id, call.name);
          const args = parseJson(provider, `Tool call "${call.name}" arguments`, call.arguments);
          const signature = thoughtSignatureOf(call.providerMetadata);
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

export function toGeminiToolConfig(choice: ToolChoiceV1): Part {
  if (typeof choice === 'object') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } };
  const mode = choice === 'required' ? 'ANY' : choice === 'none' ? 'NONE' : 'AUTO';
  return { functionCallingConfig: { mode } };
}

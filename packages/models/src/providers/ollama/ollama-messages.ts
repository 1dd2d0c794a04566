import { ProviderError } from '../../errors/provider-error.js';
import type { MessageV1, ToolDefinitionV1 } from '../../spec/generation/generation-model-v1.js';

type OllamaMessage = Record<string, unknown>;

function parseArguments(provider: string, name: string, text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ProviderError({ code: 'provider_bad_request', provider, message: `Tool call "${name}" has arguments that are not valid JSON, and Ollama needs an object.`, cause });
  }
}

/**
 * Native `/api/chat` messages: images are bare base64 strings (so only data URLs can be sent), tool
 * call arguments are objects, and tool results name their tool with `tool_name`.
 */
export function toOllamaMessages(provider: string, messages: MessageV1[]): OllamaMessage[] {
  const callNames = new Map<string, string>();
  return messages.map((message): OllamaMessage => {
    switch (message.role) {
      case 'system':
        return { role: 'system', content: message.content };
      case 'user': {
        if (typeof message.content === 'string') return { role: 'user', content: message.content };
        const text = message.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
        const images = message.content.flatMap((p) => {
          if (p.type !== 'image_url') return [];
          const match = /^data:[^;,]+;base64,(.*)$/s.exec(p.url);
          if (!match) throw new ProviderError({ code: 'provider_bad_request', provider, message: 'Ollama takes images as base64 data, not URLs; send a data: URL.' });
          return [match[1]];
        });
        return { role: 'user', content: text, ...(images.length > 0 && { images }) };
      }
      case 'assistant':
        for (const call of message.toolCalls ?? []) callNames.set(call.id, call.name);
        return {
          role: 'assistant',
          content: message.content ?? '',
          ...(message.toolCalls?.length && {
            tool_calls: message.toolCalls.map((call) => ({ function: { name: call.name, arguments: parseArguments(provider, call.name, call.arguments) } })),
          }),
        };
      case 'tool':
        return { role: 'tool', content: message.content, tool_name: callNames.get(message.toolCallId) ?? message.toolCallId };
    }
  });
}

export function toOllamaTools(tools: ToolDefinitionV1[]): Record<string, unknown>[] {
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, ...(tool.description !== undefined && { description: tool.description }), parameters: tool.parameters ?? { type: 'object', properties: {} } },
  }));
}

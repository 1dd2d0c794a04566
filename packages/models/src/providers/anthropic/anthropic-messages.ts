import { ProviderError } from '../../errors/provider-error.js';
import type { ContentPartV1, MessageV1, ToolChoiceV1, ToolDefinitionV1 } from '../../spec/generation/generation-model-v1.js';

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

function imageBlock(url: string): Block {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (match) return { type: 'image', source: { type: 'base64', media_type: match[1], data: match[2] } };
  return { type: 'image', source: { type: 'url', url } };
}

function userBlocks(content: string | ContentPartV1[]): Block[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content.map((part) => (part.type === 'text' ? { type: 'text', text: part.text } : imageBlock(part.url)));
}

function parseToolInput(provider: string, name: string, args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args) as unknown;
  } catch (cause) {
    throw new ProviderError({
      code: 'provider_bad_request',
      provider,
      message: `Tool call "${name}" has arguments that are not valid JSON, and Anthropic needs an object.`,
      cause,
    });
  }
}

/**
 * Converts normalised messages to the Messages API: system prompts move to the top-level `system`
 * (joined by blank lines), tool results become `tool_result` blocks in a user turn, and consecutive
 * turns of the same role are merged, because the API wants alternating roles and expects all the
 * results of one parallel tool call in a single user turn.
 */
export function toAnthropicMessages(provider: string, messages: MessageV1[]): { system?: string; messages: AnthropicMessage[] } {
  const system: string[] = [];
  const out: AnthropicMessage[] = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        push('user', userBlocks(message.content));
        break;
      case 'assistant': {
        const blocks: Block[] = message.content ? [{ type: 'text', text: message.content }] : [];
        for (const call of message.toolCalls ?? []) {
          blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: parseToolInput(provider, call.name, call.arguments) });
        }
        push('assistant', blocks);
        break;
      }
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }]);
        break;
    }
  }
  return { ...(system.length > 0 && { system: system.join('\n\n') }), messages: out };
}

export function toAnthropicTools(tools: ToolDefinitionV1[]): Block[] {
  return tools.map((tool) => ({
    name: tool.name,
    ...(tool.description !== undefined && { description: tool.description }),
    input_schema: tool.parameters ?? { type: 'object', properties: {} },
    ...(tool.strict !== undefined && { strict: tool.strict }),
  }));
}

/** `serial`: at most one tool call (`disable_parallel_tool_use`, which `none` does not take). */
export function toAnthropicToolChoice(choice: ToolChoiceV1, serial = false): Block {
  const flag = serial && choice !== 'none' ? { disable_parallel_tool_use: true } : {};
  if (typeof choice === 'object') return { type: 'tool', name: choice.name, ...flag };
  if (choice === 'required') return { type: 'any', ...flag };
  return { type: choice, ...flag };
}

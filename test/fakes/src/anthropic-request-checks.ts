/**
 * The Messages API's documented request checks for the fields Quire sends: unknown top-level fields
 * are refused ("Extra inputs are not permitted"), structured outputs take `output_config.format`
 * `{ type: "json_schema", schema }`, tools may carry `strict`, and `tool_choice` (not `none`) may
 * carry `disable_parallel_tool_use`.
 */
const TOP_LEVEL = new Set([
  'model', 'messages', 'max_tokens', 'system', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream', 'tools', 'tool_choice',
  'metadata', 'thinking', 'output_config', 'service_tier', 'container', 'mcp_servers', 'context_management',
]);

export function checkAnthropicParams(body: any): string | undefined {
  const extra = Object.keys(body).find((key) => !TOP_LEVEL.has(key));
  if (extra) return `${extra}: Extra inputs are not permitted`;
  const format = body.output_config?.format;
  if (body.output_config !== undefined && (format?.type !== 'json_schema' || typeof format.schema !== 'object' || format.schema === null)) {
    return 'output_config.format: expected { type: "json_schema", schema }';
  }
  for (const [i, tool] of (Array.isArray(body.tools) ? body.tools : []).entries()) {
    if (tool?.strict !== undefined && typeof tool.strict !== 'boolean') return `tools.${i}.strict: Input should be a valid boolean`;
  }
  const choice = body.tool_choice;
  if (choice?.disable_parallel_tool_use !== undefined) {
    if (choice.type === 'none') return 'tool_choice.none.disable_parallel_tool_use: Extra inputs are not permitted';
    if (typeof choice.disable_parallel_tool_use !== 'boolean') return 'tool_choice.disable_parallel_tool_use: Input should be a valid boolean';
  }
  return undefined;
}

/** `disable_parallel_tool_use` means at most one tool_use block in the answer. */
export function anthropicToolCalls<T>(body: any, calls: T[]): T[] {
  return body?.tool_choice?.disable_parallel_tool_use === true ? calls.slice(0, 1) : calls;
}

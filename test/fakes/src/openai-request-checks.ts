/**
 * The documented constraints of OpenAI's Chat Completions parameters that Quire forwards, checked
 * the way the API checks them, so an adapter that sends one in the wrong shape fails in tests.
 * Shared by the OpenAI and Azure fakes (Azure takes the same body).
 */
export interface OpenAIParamError {
  param: string;
  message: string;
}

const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'];
const VERBOSITIES = ['low', 'medium', 'high'];

const isBool = (value: unknown) => typeof value === 'boolean';
const inRange = (value: unknown, min: number, max: number) => typeof value === 'number' && value >= min && value <= max;

export function checkOpenAIChatParams(body: any): OpenAIParamError | undefined {
  const fail = (param: string, message: string) => ({ param, message });
  if (body.n !== undefined && body.n !== 1) return fail('n', 'This fake answers one choice; n must be 1.');
  for (const param of ['presence_penalty', 'frequency_penalty']) {
    if (body[param] !== undefined && !inRange(body[param], -2, 2)) return fail(param, `Invalid '${param}': must be a number between -2 and 2.`);
  }
  if (body.logit_bias !== undefined) {
    const entries = typeof body.logit_bias === 'object' && body.logit_bias !== null ? Object.entries(body.logit_bias) : null;
    if (!entries || entries.some(([token, bias]) => !/^\d+$/.test(token) || !inRange(bias, -100, 100))) {
      return fail('logit_bias', "Invalid 'logit_bias': keys must be token ids and values between -100 and 100.");
    }
  }
  if (body.reasoning_effort !== undefined && !REASONING_EFFORTS.includes(body.reasoning_effort)) {
    return fail('reasoning_effort', `Invalid value: '${body.reasoning_effort}'. Supported values are: ${REASONING_EFFORTS.map((v) => `'${v}'`).join(', ')}.`);
  }
  if (body.verbosity !== undefined && !VERBOSITIES.includes(body.verbosity)) return fail('verbosity', `Invalid value: '${body.verbosity}'.`);
  if (body.parallel_tool_calls !== undefined) {
    if (!isBool(body.parallel_tool_calls)) return fail('parallel_tool_calls', "Invalid type for 'parallel_tool_calls': expected a boolean.");
    if (!Array.isArray(body.tools) || body.tools.length === 0) {
      return fail('parallel_tool_calls', "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.");
    }
  }
  for (const [i, tool] of (Array.isArray(body.tools) ? body.tools : []).entries()) {
    if (tool?.function?.strict !== undefined && !isBool(tool.function.strict)) return fail(`tools[${i}].function.strict`, 'Invalid type: expected a boolean.');
  }
  const schema = body.response_format?.json_schema;
  if (schema?.strict !== undefined && !isBool(schema.strict)) return fail('response_format.json_schema.strict', 'Invalid type: expected a boolean.');
  if (body.logprobs === true || body.top_logprobs !== undefined) return fail('logprobs', 'This fake does not return logprobs.');
  return undefined;
}

/** `parallel_tool_calls: false` means at most one tool call in the answer. */
export function allowedToolCalls<T>(body: any, calls: T[]): T[] {
  return body?.parallel_tool_calls === false ? calls.slice(0, 1) : calls;
}

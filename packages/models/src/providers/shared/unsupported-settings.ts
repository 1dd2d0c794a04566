import { UnsupportedFunctionalityError } from '../../errors/unsupported-functionality-error.js';
import type { GenerateOptionsV1 } from '../../spec/generation/generation-model-v1.js';

type Setting = keyof GenerateOptionsV1 & string;

/** What a setting asks for, in words and in its OpenAI name, for refusals a caller can act on. */
const ASKS: Partial<Record<Setting, string>> = {
  presencePenalty: 'a presence penalty (presence_penalty)',
  frequencyPenalty: 'a frequency penalty (frequency_penalty)',
  logitBias: 'logit bias (logit_bias)',
  reasoningEffort: 'a reasoning effort (reasoning_effort)',
  verbosity: 'a verbosity setting (verbosity)',
};

export function unsupported(provider: string, setting: Setting, message: string): UnsupportedFunctionalityError {
  return new UnsupportedFunctionalityError({ provider, setting, message });
}

/** Refuses the first of `settings` the request sets: `vendor`'s API has no equivalent for any of them. */
export function refuseSettings(provider: string, vendor: string, options: GenerateOptionsV1, settings: readonly Setting[]): void {
  for (const setting of settings) {
    if (options[setting] === undefined) continue;
    throw unsupported(provider, setting, `${vendor} has no equivalent of ${ASKS[setting] ?? setting}; leave it out, or use a model that supports it.`);
  }
}

/** `parallelToolCalls: false` on an API that cannot limit a turn to one tool call. */
export function refuseSerialToolCalls(provider: string, vendor: string, options: GenerateOptionsV1): void {
  if (options.parallelToolCalls !== false || !options.tools?.length) return;
  throw unsupported(provider, 'parallelToolCalls', `${vendor} cannot limit an answer to one tool call (parallel_tool_calls: false); leave it out, or use a model that supports it.`);
}

/** `strict` tools on an API that cannot guarantee arguments match the schema. */
export function refuseStrictTools(provider: string, vendor: string, options: GenerateOptionsV1): void {
  const strict = options.tools?.find((tool) => tool.strict === true);
  if (!strict) return;
  throw unsupported(provider, 'tools', `${vendor} cannot guarantee tool arguments match their schema (tool "${strict.name}" has strict: true); drop strict, or use a model that supports it.`);
}

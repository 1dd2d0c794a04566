import { emptyUsage, type UsageV1 } from '../../spec/usage.js';

/** Usage from a provider's input-token count; a missing count is "not reported", not zero. */
export function tokenUsage(tokens: number | null | undefined): UsageV1 {
  return tokens !== null && tokens !== undefined ? { ...emptyUsage(true), inputTokens: tokens } : emptyUsage(false);
}

/**
 * Usage in one normalised shape for every provider and capability.
 *
 * `inputTokens` counts every prompt token (cached ones included), so totals read the same way for
 * every provider; `cachedInputTokens` and `cacheWriteInputTokens` say how many of them were billed at
 * the cache rates. `outputTokens` includes `reasoningTokens` (both are billed at the output rate).
 * `reported: false` means the provider never said (for example a stream cut before its usage event):
 * the numbers are then an estimate or zero, and the ledger flags the row.
 */
export interface UsageV1 {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  reasoningTokens: number;
  searchUnits: number;
  reported: boolean;
}

export function emptyUsage(reported = true): UsageV1 {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    reasoningTokens: 0,
    searchUnits: 0,
    reported,
  };
}

/**
 * The latency sweep of `pnpm bench:ingest`: where the embedding provider, not Quire, sets the pace.
 * The provider's pure latency budget at L ms a call is ceil(calls / cap) x L (its calls, as many at
 * once as it may be given, nothing else). A run is provider-bound when it takes at most `within`
 * times that budget. The crossover is the smallest latency a call at which a run is.
 */
export interface SweepPoint {
  latencyMs: number;
  ms: number;
  budgetMs: number;
  ratio: number;
}

export const providerBudgetMs = (calls: number, cap: number, latencyMs: number) => Math.ceil(calls / cap) * latencyMs;

/** Latencies are rounded to 10 ms: finer steps are below the runs' noise. */
const round10 = (ms: number) => Math.max(10, Math.round(ms / 10) * 10);

/**
 * Measures `run` at latencies around `estimateMs` (where the budget alone equals Quire's own time):
 * up by a quarter at a time until a run is within `within` of its budget, or down by a fifth while
 * one is, then once between the last latency that missed and the first that met it. At most
 * `maxRuns` runs; `bracket` is [largest miss, smallest meet], either null if not seen.
 */
export async function sweepLatency(
  estimateMs: number,
  within: number,
  run: (latencyMs: number) => Promise<SweepPoint>,
  maxRuns = 6,
): Promise<{ points: SweepPoint[]; bracket: [SweepPoint | null, SweepPoint | null] }> {
  const points: SweepPoint[] = [];
  const measure = async (latencyMs: number) => {
    const known = points.find((p) => p.latencyMs === latencyMs);
    if (known) return known;
    const p = await run(latencyMs);
    points.push(p);
    return p;
  };
  let miss: SweepPoint | null = null;
  let meet: SweepPoint | null = null;
  let latency = round10(estimateMs);
  const first = await measure(latency);
  const step = first.ratio <= within ? 0.8 : 1.25;
  if (first.ratio <= within) meet = first;
  else miss = first;
  while (points.length < maxRuns - 1) {
    latency = round10(latency * step);
    const p = await measure(latency);
    if (p.ratio <= within) meet = !meet || p.latencyMs < meet.latencyMs ? p : meet;
    else miss = !miss || p.latencyMs > miss.latencyMs ? p : miss;
    if ((step > 1 && p.ratio <= within) || (step < 1 && p.ratio > within)) break;
  }
  if (miss && meet && meet.latencyMs - miss.latencyMs > 10 && points.length < maxRuns) {
    const p = await measure(round10((miss.latencyMs + meet.latencyMs) / 2));
    if (p.ratio <= within) meet = p;
    else miss = p;
  }
  points.sort((a, b) => a.latencyMs - b.latencyMs);
  return { points, bracket: [miss, meet] };
}

import { mean } from './metrics.js';

/** mulberry32: a small seeded PRNG, so every interval and p-value is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface StatsOptions {
  resamples?: number;
  /** 0.05 gives 95 % intervals and tests at the 5 % level. */
  alpha?: number;
  seed?: number;
}

export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_SEED = 42;

export interface Estimate {
  mean: number;
  lower: number;
  upper: number;
  n: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Percentile bootstrap CI of the mean over questions (resampled with replacement). */
export function bootstrapCI(values: readonly number[], options: StatsOptions = {}): Estimate {
  const n = values.length;
  if (n === 0) return { mean: NaN, lower: NaN, upper: NaN, n };
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const alpha = options.alpha ?? 0.05;
  const rand = seededRandom(options.seed ?? DEFAULT_SEED);
  const means: number[] = new Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(rand() * n)]!;
    means[r] = sum / n;
  }
  means.sort((a, b) => a - b);
  return { mean: mean(values), lower: quantile(means, alpha / 2), upper: quantile(means, 1 - alpha / 2), n };
}

/**
 * Two-sided paired randomisation (sign-flip) test on per-question differences: under the null the
 * two configurations are exchangeable per question, so each difference's sign is a coin flip.
 * p = (1 + #{|mean*| >= |observed|}) / (1 + iterations).
 */
export function pairedRandomizationTest(a: readonly number[], b: readonly number[], options: StatsOptions & { iterations?: number } = {}): number {
  if (a.length !== b.length) throw new Error('paired samples must have the same length');
  const diffs = a.map((x, i) => b[i]! - x);
  const n = diffs.length;
  if (n === 0) return 1;
  const observed = Math.abs(mean(diffs));
  if (diffs.every((d) => d === 0)) return 1;
  const iterations = options.iterations ?? 10_000;
  const rand = seededRandom((options.seed ?? DEFAULT_SEED) + 1);
  let extreme = 0;
  for (let r = 0; r < iterations; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += rand() < 0.5 ? -diffs[i]! : diffs[i]!;
    if (Math.abs(sum / n) >= observed - 1e-12) extreme++;
  }
  return (1 + extreme) / (1 + iterations);
}

export interface PairedComparison {
  metric: string;
  n: number;
  a: number;
  b: number;
  /** mean(b - a) with its paired bootstrap CI. */
  diff: Estimate;
  p_value: number;
  /** Set only when the difference is significant (CI excludes 0 and p < alpha). */
  winner: 'a' | 'b' | null;
  significant: boolean;
}

/**
 * Compares two configurations on the same questions: the paired bootstrap CI of mean(b - a) and
 * the randomisation test's p-value. A winner is named only when both say the difference is real
 * (p < alpha and the CI excludes 0); `higherIsBetter: false` for costs and latencies.
 */
export function comparePaired(metric: string, a: readonly number[], b: readonly number[], options: StatsOptions & { higherIsBetter?: boolean; iterations?: number } = {}): PairedComparison {
  const diffs = a.map((x, i) => b[i]! - x);
  const diff = bootstrapCI(diffs, options);
  const p = pairedRandomizationTest(a, b, options);
  const alpha = options.alpha ?? 0.05;
  const significant = diffs.length > 0 && p < alpha && (diff.lower > 0 || diff.upper < 0);
  const better = (options.higherIsBetter ?? true) ? diff.mean > 0 : diff.mean < 0;
  return { metric, n: diffs.length, a: mean(a), b: mean(b), diff, p_value: p, significant, winner: significant ? (better ? 'b' : 'a') : null };
}

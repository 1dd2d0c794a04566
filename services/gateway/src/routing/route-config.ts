import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * Routes: named virtual models (`chat-default`) that callers use in the `model` field. A route is an
 * ordered list of `provider/model` targets and a strategy that picks the order per request.
 */
export const ROUTE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const ModelName = z.string().regex(/^[a-z0-9][a-z0-9._-]*\/\S+$/i, 'must be "provider/model"');
const Ms = z.number().int().positive().max(3_600_000);

export const TimeoutsSchema = z
  .object({
    /** Until the provider's response headers arrive. */
    connectMs: Ms.optional(),
    /** Until the first streamed part (a whole answer for non-streaming calls). */
    firstByteMs: Ms.optional(),
    /** The whole attempt, stream included. */
    totalMs: Ms.optional(),
  })
  .strict();
export type Timeouts = z.infer<typeof TimeoutsSchema>;

export const TargetSchema = z
  .object({
    model: ModelName,
    weight: z.number().positive().max(1_000_000).default(1),
    timeouts: TimeoutsSchema.optional(),
  })
  .strict();
export type RouteTarget = z.infer<typeof TargetSchema>;

const TARGET_FORMS = 'a target is "provider/model" (such as "openai/gpt-4o-mini") or an object with "model" (and "weight", "timeouts")';

/**
 * A target is written as `provider/model` or as an object with weight and timeouts. Zod reports a
 * value that is neither as a bare "Invalid input" (a union drops the branches' messages), so the
 * union says what a target is, naming a string it was given.
 */
const TargetInput = z.union([ModelName.transform((model) => ({ model, weight: 1 })), TargetSchema], {
  error: (issue) => (typeof issue.input === 'string' ? `"${issue.input.slice(0, 100)}" is not a target: ${TARGET_FORMS}` : TARGET_FORMS),
});

const RetryShape = z
  .object({
    /** Attempts per target before falling back to the next one. */
    maxAttempts: z.number().int().min(1).max(10).default(2),
    baseDelayMs: z.number().int().min(0).max(60_000).default(200),
    maxDelayMs: z.number().int().min(0).max(60_000).default(5_000),
  })
  .strict();

// Backoff starts at baseDelayMs and is capped at maxDelayMs: a base above the cap would be cut to it on the first retry.
export const RetrySchema = RetryShape.refine((r) => r.baseDelayMs <= r.maxDelayMs, {
  path: ['baseDelayMs'],
  error: (issue) => {
    const r = issue.input as { baseDelayMs: number; maxDelayMs: number };
    return `must not be above maxDelayMs (${r.baseDelayMs} > ${r.maxDelayMs}; baseDelayMs defaults to 200, maxDelayMs to 5000)`;
  },
});
export type RouteRetryPolicy = z.infer<typeof RetrySchema>;

export const CircuitBreakerSchema = z
  .object({
    /** Consecutive failures (or slow calls) that open the circuit. */
    failureThreshold: z.number().int().min(1).max(1000).default(5),
    /** A successful call slower than this counts as a failure for the breaker. */
    slowCallMs: Ms.optional(),
    /** How long an open circuit refuses calls before one half-open probe is let through. */
    cooldownMs: Ms.default(30_000),
  })
  .strict();
export type CircuitBreakerSettings = z.infer<typeof CircuitBreakerSchema>;

export const LatencySwitchSchema = z
  .object({
    /** A target whose p95 over the window is above this goes to the back of the order. */
    p95AboveMs: Ms,
    windowMs: Ms.default(60_000),
    minSamples: z.number().int().min(1).max(10_000).default(20),
  })
  .strict();

export const DowngradeSchema = z
  .object({
    /** Fraction of the caller's budget used (0..1) above which the downgrade targets serve instead. */
    whenBudgetUsedAbove: z.number().min(0).max(1),
    targets: z.array(TargetInput).min(1).max(20),
  })
  .strict();

export const StrategySchema = z.enum(['priority', 'weighted', 'lowest-latency', 'lowest-price']);
export type Strategy = z.infer<typeof StrategySchema>;

export const RouteSchema = z
  .object({
    description: z.string().max(500).optional(),
    strategy: StrategySchema.default('priority'),
    targets: z.array(TargetInput).min(1).max(20),
    /** Defaults for targets without their own timeouts. */
    timeouts: TimeoutsSchema.optional(),
    retry: RetrySchema.default({ maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 5_000 }),
    circuitBreaker: CircuitBreakerSchema.default({ failureThreshold: 5, cooldownMs: 30_000 }),
    latencySwitch: LatencySwitchSchema.optional(),
    downgrade: DowngradeSchema.optional(),
    /** lowest-latency only: share of requests sent in random order so stale estimates get refreshed. */
    exploreFraction: z.number().min(0).max(1).default(0.05),
  })
  .strict();
export type Route = z.infer<typeof RouteSchema>;

/**
 * A route as stored: the admin API refuses a retry base above its cap, but routes stored before that
 * check (a lone `maxDelayMs: 100` under the default base of 200) must still load, so here the base is
 * cut to the cap, which is what the backoff did with it anyway.
 */
export const StoredRouteSchema = RouteSchema.extend({
  retry: RetryShape.transform((r) => ({ ...r, baseDelayMs: Math.min(r.baseDelayMs, r.maxDelayMs) })).default({ maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 5_000 }),
});
export type RouteInput = z.input<typeof RouteSchema>;

/** Every model a route may call: its targets and, when its budget runs low, its downgrade targets. */
export function routeModels(route: Route): Set<string> {
  return new Set([...route.targets, ...(route.downgrade?.targets ?? [])].map((t) => t.model));
}

export const RoutesFileSchema = z
  .object({
    routes: z.record(z.string().regex(ROUTE_NAME, 'route names are letters, digits and _ . : - (no slash)'), RouteSchema),
  })
  .strict();
export type RoutesFile = z.infer<typeof RoutesFileSchema>;

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Parses YAML or JSON (JSON is YAML) route configuration; throws naming the bad field. */
export function parseRoutesText(text: string, source = 'routes'): Map<string, Route> {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new Error(`${source} is not valid YAML or JSON: ${(error as Error).message}`);
  }
  const parsed = RoutesFileSchema.safeParse(value ?? { routes: {} });
  if (!parsed.success) throw new Error(`${source} is invalid: ${describe(parsed.error)}`);
  return new Map(Object.entries(parsed.data.routes));
}

export function loadRoutesFile(file: string): Map<string, Route> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`QUIRE_ROUTES_FILE ${file} cannot be read: ${(error as Error).message}`);
  }
  return parseRoutesText(text, `QUIRE_ROUTES_FILE ${file}`);
}

import type { Identity } from '@quire/contracts';
import { NO_BUDGETS } from './budget-probe.js';
import { RouteSchema, type RouteInput } from './route-config.js';
import { RoutePlanner } from './route-planner.js';
import { HealthBook } from './target-health.js';

const identity: Identity = { team_id: 'team-1', key_id: 'key-1', role: 'member', groups: [] };
const LATENCY = { p95AboveMs: 100, windowMs: 60_000, minSamples: 3 };

/** A planner over one route `r`, with each listed target having answered `samples` times in `ms`. */
function planner(route: RouteInput, latencies: Record<string, number>) {
  const health = new HealthBook();
  for (const [model, ms] of Object.entries(latencies)) for (let i = 0; i < 3; i++) health.latency(model).sample(ms);
  const routes = new Map([['r', RouteSchema.parse(route)]]);
  return new RoutePlanner({ get: async (name: string) => routes.get(name) }, health, NO_BUDGETS, () => undefined, { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 });
}

const order = (plan: { steps: { model: string }[] } | undefined) => plan?.steps.map((s) => s.model);

describe('RoutePlanner latency switch', () => {
  test('a slow target ahead of a fast one is demoted, with a note and a reason', async () => {
    const plan = await planner({ targets: ['p/slow', 'p/fast'], latencySwitch: LATENCY }, { 'p/slow': 500, 'p/fast': 10 }).plan('r', 'chat', identity);
    expect(order(plan)).toEqual(['p/fast', 'p/slow']);
    expect(plan!.note).toBe('latency switch: p/slow p95 500ms > 100ms');
    expect(plan!.steps[1]!.reason).toBe('priority #1, demoted: p95 over 100ms');
  });

  test('a slow target already last changes nothing, so nothing is noted', async () => {
    const plan = await planner({ targets: ['p/fast', 'p/slow'], latencySwitch: LATENCY }, { 'p/slow': 500, 'p/fast': 10 }).plan('r', 'chat', identity);
    expect(order(plan)).toEqual(['p/fast', 'p/slow']);
    expect(plan!.note).toBeUndefined();
    expect(plan!.steps.map((s) => s.reason)).toEqual(['priority #1', 'priority #2']);
  });

  test('every target slow keeps the strategy order and notes nothing', async () => {
    const plan = await planner({ targets: ['p/a', 'p/b'], latencySwitch: LATENCY }, { 'p/a': 500, 'p/b': 300 }).plan('r', 'chat', identity);
    expect(order(plan)).toEqual(['p/a', 'p/b']);
    expect(plan!.note).toBeUndefined();
  });

  test('only the slow targets that move are noted; a slow target already at the back keeps its reason', async () => {
    const plan = await planner(
      { targets: ['p/slow-1', 'p/fast', 'p/slow-2'], latencySwitch: LATENCY },
      { 'p/slow-1': 400, 'p/fast': 10, 'p/slow-2': 600 },
    ).plan('r', 'chat', identity);
    expect(order(plan)).toEqual(['p/fast', 'p/slow-1', 'p/slow-2']);
    expect(plan!.note).toBe('latency switch: p/slow-1 p95 400ms > 100ms');
    expect(plan!.steps.map((s) => s.reason)).toEqual(['priority #2', 'priority #1, demoted: p95 over 100ms', 'priority #3']);
  });

  test('too few samples is not slow', async () => {
    const plan = await planner({ targets: ['p/slow', 'p/fast'], latencySwitch: { ...LATENCY, minSamples: 10 } }, { 'p/slow': 500, 'p/fast': 10 }).plan('r', 'chat', identity);
    expect(order(plan)).toEqual(['p/slow', 'p/fast']);
    expect(plan!.note).toBeUndefined();
  });
});

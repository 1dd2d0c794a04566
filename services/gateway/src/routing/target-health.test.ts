import { CircuitBreaker, HealthBook } from './target-health.js';

const SETTINGS = { failureThreshold: 1, cooldownMs: 1_000 };

describe('a circuit breaker in half-open', () => {
  test('lets one probe through; only that probe ends it, not calls let through while the circuit was closed', () => {
    const breaker = new CircuitBreaker();
    // Two calls go out while the circuit is closed; one of them fails and opens it.
    const early = breaker.acquire(SETTINGS, 0)!;
    const failing = breaker.acquire(SETTINGS, 0)!;
    breaker.failure(failing, SETTINGS, 10);
    expect(breaker.acquire(SETTINGS, 500)).toBeUndefined();

    const probe = breaker.acquire(SETTINGS, 1_500);
    expect(probe).toMatchObject({ probe: true });
    expect(breaker.acquire(SETTINGS, 1_500)).toBeUndefined();
    // The early call ends while the probe is out: released (its client left), or even answered.
    breaker.release(early);
    expect(breaker.acquire(SETTINGS, 1_600)).toBeUndefined();
    breaker.failure(early, SETTINGS, 1_600);
    breaker.release(early);
    expect(breaker.acquire(SETTINGS, 2_700)).toMatchObject({ probe: true });
  });

  test("the probe's own outcome decides: success closes, failure re-opens for another cool-down", () => {
    const breaker = new CircuitBreaker();
    breaker.failure(breaker.acquire(SETTINGS, 0)!, SETTINGS, 0);
    const probe = breaker.acquire(SETTINGS, 1_000)!;
    breaker.failure(probe, SETTINGS, 1_100);
    expect(breaker.state(SETTINGS, 1_200)).toBe('open');
    // Retry-After for requests held back: the rest of the cool-down, at least a second.
    expect(breaker.retryInMs({ ...SETTINGS, cooldownMs: 10_000 }, 1_200)).toBe(9_900);
    expect(breaker.retryInMs(SETTINGS, 2_000)).toBe(1_000);
    const next = breaker.acquire(SETTINGS, 2_100)!;
    expect(next.probe).toBe(true);
    breaker.success(next, 5, SETTINGS, 2_110);
    expect(breaker.state(SETTINGS, 2_110)).toBe('closed');
    expect(breaker.acquire(SETTINGS, 2_110)).toMatchObject({ probe: false });
  });

  test('a call let through while the circuit was closed and answering late neither closes it nor restarts its cool-down', () => {
    const breaker = new CircuitBreaker();
    const early = breaker.acquire(SETTINGS, 0)!;
    const late = breaker.acquire(SETTINGS, 0)!;
    breaker.failure(breaker.acquire(SETTINGS, 0)!, SETTINGS, 10);
    breaker.success(early, 5, SETTINGS, 200);
    expect(breaker.state(SETTINGS, 200)).toBe('open');
    breaker.failure(late, SETTINGS, 900);
    // Still half-open at the end of the first cool-down, not pushed to 1,900.
    expect(breaker.state(SETTINGS, 1_010)).toBe('half-open');
  });

  test('a probe that never reports is given up after a cool-down, so a leak cannot shut the target for good', () => {
    const breaker = new CircuitBreaker();
    breaker.failure(breaker.acquire(SETTINGS, 0)!, SETTINGS, 0);
    expect(breaker.acquire(SETTINGS, 1_000)).toBeDefined();
    expect(breaker.acquire(SETTINGS, 1_999)).toBeUndefined();
    expect(breaker.acquire(SETTINGS, 2_000)).toMatchObject({ probe: true });
  });
});

test('breakers are per route and target; latency is per target', () => {
  const health = new HealthBook();
  expect(health.breaker('strict', 'p/m')).toBe(health.breaker('strict', 'p/m'));
  expect(health.breaker('strict', 'p/m')).not.toBe(health.breaker('lax', 'p/m'));
  health.latency('p/m').sample(40);
  expect(health.latency('p/m').ewmaMs).toBe(40);
});

test('retain drops breakers of deleted routes and removed targets, and latency no live route uses', () => {
  const health = new HealthBook();
  const kept = health.breaker('r', 'p/kept');
  const removed = health.breaker('r', 'p/removed');
  removed.failure(removed.acquire(SETTINGS, 0)!, SETTINGS, 0);
  expect(removed.state(SETTINGS, 1)).toBe('open');
  const deleted = health.breaker('gone', 'p/kept');
  for (const model of ['p/kept', 'p/removed']) health.latency(model).sample(40);

  health.retain(new Map([['r', new Set(['p/kept'])]]));

  expect(health.breaker('r', 'p/kept')).toBe(kept);
  // Put back (or a route re-created under the same name), the target starts with a closed circuit.
  expect(health.breaker('r', 'p/removed')).not.toBe(removed);
  expect(health.breaker('r', 'p/removed').state(SETTINGS, 1)).toBe('closed');
  expect(health.breaker('gone', 'p/kept')).not.toBe(deleted);
  expect(health.latency('p/kept').ewmaMs).toBe(40);
  expect(health.latency('p/removed').ewmaMs).toBeUndefined();
});

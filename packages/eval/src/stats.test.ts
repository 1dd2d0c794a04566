import { bootstrapCI, comparePaired, pairedRandomizationTest, seededRandom } from './stats.js';
import { paretoFrontier } from './report.js';

function sample(rand: () => number, n: number, p: number): number[] {
  return Array.from({ length: n }, () => (rand() < p ? 1 : 0));
}

describe('bootstrap confidence intervals', () => {
  test('reproducible with a seed, different with another', () => {
    const values = sample(seededRandom(7), 80, 0.4);
    const a = bootstrapCI(values, { seed: 1 });
    expect(bootstrapCI(values, { seed: 1 })).toEqual(a);
    expect(bootstrapCI(values, { seed: 2 })).not.toEqual(a);
    expect(a.lower).toBeLessThanOrEqual(a.mean);
    expect(a.upper).toBeGreaterThanOrEqual(a.mean);
    expect(a.n).toBe(80);
  });

  test('the 95% interval contains the true mean about 95% of the time', () => {
    const rand = seededRandom(123);
    const trueMean = 0.6;
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const ci = bootstrapCI(sample(rand, 100, trueMean), { seed: t, resamples: 500 });
      if (ci.lower <= trueMean && trueMean <= ci.upper) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThanOrEqual(0.99);
  });

  test('a constant sample has a zero-width interval at its value', () => {
    expect(bootstrapCI([0.5, 0.5, 0.5])).toEqual({ mean: 0.5, lower: 0.5, upper: 0.5, n: 3 });
  });
});

describe('paired tests', () => {
  test('detect a real difference and name the winner', () => {
    const rand = seededRandom(99);
    const a = Array.from({ length: 60 }, () => rand());
    const b = a.map((x) => Math.min(1, x + 0.08 + (rand() - 0.5) * 0.1));
    const cmp = comparePaired('ndcg@10', a, b);
    expect(cmp.p_value).toBeLessThan(0.01);
    expect(cmp.diff.lower).toBeGreaterThan(0);
    expect(cmp.significant).toBe(true);
    expect(cmp.winner).toBe('b');
    // Lower is better for costs: the cheaper side wins.
    expect(comparePaired('cost_usd', b, a, { higherIsBetter: false }).winner).toBe('b');
  });

  test('do not call a null difference significant (and rarely do over many null sets)', () => {
    const rand = seededRandom(5);
    let falsePositives = 0;
    const sets = 60;
    for (let s = 0; s < sets; s++) {
      const a = Array.from({ length: 50 }, () => rand());
      const b = Array.from({ length: 50 }, () => rand());
      if (comparePaired('m', a, b, { seed: s, resamples: 300, iterations: 1000 }).significant) falsePositives++;
    }
    expect(falsePositives / sets).toBeLessThanOrEqual(0.12);
    const same = [0.1, 0.5, 0.9, 0.3];
    expect(pairedRandomizationTest(same, same)).toBe(1);
    expect(comparePaired('m', same, same).winner).toBeNull();
  });
});

describe('Pareto frontier', () => {
  test('keeps points no other point beats on both quality and cost', () => {
    const frontier = paretoFrontier([
      { name: 'cheap', quality: 0.5, cost: 0.001 },
      { name: 'best', quality: 0.8, cost: 0.01 },
      { name: 'dominated', quality: 0.6, cost: 0.02 },
      { name: 'unpriced', quality: 0.9, cost: null },
    ]);
    expect(frontier.sort()).toEqual(['best', 'cheap']);
  });
});

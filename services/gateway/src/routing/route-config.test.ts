import { parseRoutesText } from './route-config.js';

const invalid = (yaml: string) => {
  try {
    parseRoutesText(yaml);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('parsed');
};

describe('route configuration', () => {
  test('refuses a retry whose base delay is above its cap, naming both numbers', () => {
    expect(invalid('routes:\n  r:\n    targets: [a/b]\n    retry: { baseDelayMs: 500, maxDelayMs: 100 }\n')).toContain('routes.r.retry.baseDelayMs: must not be above maxDelayMs (500 > 100');
    expect(parseRoutesText('routes:\n  r:\n    targets: [a/b]\n    retry: { maxAttempts: 3 }\n').get('r')!.retry).toEqual({ maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 5000 });
  });

  test('says what a target is when one is neither "provider/model" nor an object', () => {
    expect(invalid('routes:\n  r:\n    targets: [gpt-4o-mini]\n')).toContain('routes.r.targets.0: "gpt-4o-mini" is not a target: a target is "provider/model"');
    expect(invalid('routes:\n  r:\n    targets: [5]\n')).toContain('routes.r.targets.0: a target is "provider/model"');
    // An object target keeps its own field's message.
    expect(invalid('routes:\n  r:\n    targets: [{ model: a/b, weight: -1 }]\n')).toContain('routes.r.targets.0.weight');
    expect(parseRoutesText('routes:\n  r:\n    targets: [a/b, { model: c/d, weight: 2 }]\n').get('r')!.targets).toEqual([{ model: 'a/b', weight: 1 }, { model: 'c/d', weight: 2 }]);
  });
});

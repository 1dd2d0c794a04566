/**
 * What `run` throws, when `is` accepts it (anything else it throws is rethrown); fails the test when
 * it throws nothing. For readers whose refusal is the result under test (settings, limits).
 */
export function thrownBy<E>(run: () => unknown, is: (error: unknown) => error is E): E {
  try {
    run();
  } catch (error) {
    if (is(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal, and nothing was thrown');
}

import { AUTH, startHarness, type Harness } from '../e2e/quire-harness.js';

/** One test file's running Quire stack; `harness` and `url` are live only inside hooks and tests. */
export interface QuireStack {
  /** The end-to-end harness: the running Quire (with its database) and the fake OpenAI. */
  readonly harness: Harness;
  /** The Quire gateway's base URL. */
  readonly url: string;
  /** Headers for the bootstrap admin key the stack starts with. */
  readonly adminAuth: Record<string, string>;
}

/**
 * Registers this file's beforeAll/afterAll that start the whole Quire stack of the end-to-end
 * harness (gateway, ingestion and retrieval on a fresh test database, a fake OpenAI, the e2e admin
 * key; no Redis) before the file's tests and stop it after them. Call it at the top level of a test
 * file, before the file's own beforeAll hooks, which then run after the stack is up.
 */
export function useQuireStack(): QuireStack {
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await startHarness({ redis: false });
  }, 60_000);
  afterAll(async () => {
    await harness?.stop();
  });
  const running = (): Harness => {
    if (!harness) throw new Error('the Quire stack is not running: use it inside hooks and tests only');
    return harness;
  };
  return {
    get harness() {
      return running();
    },
    get url() {
      return running().quire.url;
    },
    adminAuth: AUTH,
  };
}

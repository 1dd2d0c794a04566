import { ERROR_CODES } from '@quire/contracts';
import { AppError } from '@quire/server-kit';
import { Authenticator } from './authenticator.js';
import { formatKey, hashSecret, isExpired, newKey } from './key-format.js';
import type { GovernanceStore, KeyRow, TeamRow } from './store.js';

const TEAM: TeamRow = { id: 'team-a', name: 'A', allowed_models: null, rpm: null, tpm: null, created_at: '', updated_at: '' };

function setup(overrides: Partial<KeyRow> = {}) {
  const key = newKey();
  let row: KeyRow = {
    id: key.id, team_id: 'team-a', name: 'k', role: 'member', groups: [], allowed_models: null, rpm: null, tpm: null,
    secret_hash: hashSecret(key.secret), previous_secret_hash: null, previous_valid_until: null, expires_at: null, revoked_at: null,
    created_by: 'test', created_at: '', updated_at: '', ...overrides,
  };
  const reads = { keys: 0 };
  /** When set, the next key read returns the row as it was and waits for this before answering. */
  let hold: Promise<void> | undefined;
  const store = {
    key: async () => {
      reads.keys++;
      const snapshot = row;
      if (hold) await hold;
      return snapshot;
    },
    team: async () => TEAM,
  } as unknown as GovernanceStore;
  let now = Date.parse('2026-11-25T12:00:00Z');
  const auth = new Authenticator(store, 5000, () => now);
  return {
    auth, key, reads,
    setRow: (patch: Partial<KeyRow>) => (row = { ...row, ...patch }),
    holdReads: (until: Promise<void> | undefined): void => {
      hold = until;
    },
    advance: (ms: number) => (now += ms),
    now: () => now,
  };
}

const codeOf = (promise: Promise<unknown>) => promise.then(() => 'ok', (e: unknown) => (AppError.is(e) ? e.code : String(e)));

describe('Authenticator: verified keys are cached no longer than the rows they were checked against', () => {
  test('a repeat call with the same key is answered from the cache, with the same identity', async () => {
    const { auth, key, reads } = setup();
    const first = await auth.authenticate(`Bearer ${key.key}`, undefined);
    const second = await auth.authenticate(`Bearer ${key.key}`, undefined);
    expect(second.identity).toEqual({ team_id: 'team-a', key_id: key.id, role: 'member', groups: [] });
    expect(second).toBe(first);
    expect(reads.keys).toBe(1);
  });

  test('a wrong secret for a cached key id is still refused', async () => {
    const { auth, key } = setup();
    await auth.authenticate(`Bearer ${key.key}`, undefined);
    const forged = `Bearer ${formatKey(key.id, newKey().secret)}`;
    expect(await codeOf(auth.authenticate(forged, undefined))).toMatch(/invalid_api_key/);
  });

  test('a key that expires stops working at its expiry even while cached', async () => {
    const h = setup();
    h.setRow({ expires_at: new Date(h.now() + 2000).toISOString() });
    await h.auth.authenticate(`Bearer ${h.key.key}`, undefined);
    h.advance(2500);
    expect(await codeOf(h.auth.authenticate(`Bearer ${h.key.key}`, undefined))).toBe('api_key_expired');
  });

  test('a revocation elsewhere is seen once the cache TTL passes; one made here at once', async () => {
    const h = setup();
    await h.auth.authenticate(`Bearer ${h.key.key}`, undefined);
    h.setRow({ revoked_at: new Date(h.now()).toISOString() });
    expect(await codeOf(h.auth.authenticate(`Bearer ${h.key.key}`, undefined))).toBe('ok');
    h.advance(5001);
    expect(await codeOf(h.auth.authenticate(`Bearer ${h.key.key}`, undefined))).toBe('api_key_revoked');

    const g = setup();
    await g.auth.authenticate(`Bearer ${g.key.key}`, undefined);
    g.setRow({ revoked_at: new Date(g.now()).toISOString() });
    g.auth.invalidateKey(g.key.id);
    expect(await codeOf(g.auth.authenticate(`Bearer ${g.key.key}`, undefined))).toBe('api_key_revoked');
  });

  test('a rotated-out secret stops at the end of its grace period even while cached', async () => {
    const h = setup();
    const oldSecret = newKey().secret;
    const oldKey = formatKey(h.key.id, oldSecret);
    h.setRow({ previous_secret_hash: hashSecret(oldSecret), previous_valid_until: new Date(h.now() + 1000).toISOString() });
    expect(await codeOf(h.auth.authenticate(`Bearer ${oldKey}`, undefined))).toBe('ok');
    h.advance(1500);
    expect(await codeOf(h.auth.authenticate(`Bearer ${oldKey}`, undefined))).toBe('invalid_api_key');
    expect(await codeOf(h.auth.authenticate(`Bearer ${h.key.key}`, undefined))).toBe('ok');
  });

  test('a key row read before a revocation here is not cached after it', async () => {
    const h = setup();
    let answer!: () => void;
    h.holdReads(new Promise<void>((r) => (answer = r)));
    // In flight: the database answered with the row as it was before the revocation.
    const inFlight = h.auth.authenticate(`Bearer ${h.key.key}`, undefined);
    await Promise.resolve();
    h.setRow({ revoked_at: new Date(h.now()).toISOString() });
    h.auth.invalidateKey(h.key.id);
    h.holdReads(undefined);
    answer();
    // The request that started before the revocation may finish; the next one must not.
    expect(await codeOf(inFlight)).toBe('ok');
    expect(await codeOf(h.auth.authenticate(`Bearer ${h.key.key}`, undefined))).toBe('api_key_revoked');
  });
});

describe('Authenticator.policyOf: the services\' signed calls for a key stop when the key does', () => {
  const identityOf = (keyId: string) => ({ team_id: 'team-a', key_id: keyId, role: 'member' as const, groups: [] });

  test('a valid key gives its team\'s and its own policy', async () => {
    const { auth, key } = setup({ allowed_models: ['openai/*'] });
    const policy = await auth.policyOf(identityOf(key.id));
    expect(policy.team).toBe(TEAM);
    expect(policy.key?.allowed_models).toEqual(['openai/*']);
  });

  test('a key revoked since the work started is refused, not retryable, at once when revoked here', async () => {
    const h = setup();
    await h.auth.policyOf(identityOf(h.key.id));
    h.setRow({ revoked_at: '2026-11-25T12:00:00Z' });
    h.auth.invalidateKey(h.key.id);
    const error = await h.auth.policyOf(identityOf(h.key.id)).catch((e: unknown) => e);
    expect(AppError.is(error) && [error.code, error.status, ERROR_CODES[error.code].retryable]).toEqual(['api_key_revoked', 401, false]);
  });

  test('a key that expires is refused from its expiry on, even while cached', async () => {
    const h = setup({ expires_at: '2026-11-25T12:00:10Z' });
    expect(await codeOf(h.auth.policyOf(identityOf(h.key.id)))).toBe('ok');
    h.advance(10_000);
    expect(await codeOf(h.auth.policyOf(identityOf(h.key.id)))).toBe('api_key_expired');
  });

  test('identities of no key row (the services\' own) keep their team\'s policy', async () => {
    const store = { key: async () => null, team: async () => TEAM } as unknown as GovernanceStore;
    const policy = await new Authenticator(store).policyOf({ team_id: 'team-a', key_id: 'index-builder', role: 'service', groups: [] });
    expect(policy).toEqual({ team: TEAM, key: null });
  });
});

test('isExpired: a key is expired from its expires_at on (the one check authentication, background work and the admin API use)', () => {
  const at = '2026-11-25T12:00:10.000Z';
  const t = Date.parse(at);
  expect(isExpired({ expires_at: null }, t)).toBe(false);
  expect(isExpired({ expires_at: at }, t - 1)).toBe(false);
  expect(isExpired({ expires_at: at }, t)).toBe(true);
  expect(isExpired({ expires_at: at }, t + 1)).toBe(true);
  // PostgreSQL's own text form, as the store reads it.
  expect(isExpired({ expires_at: '2026-11-25 12:00:10+00' }, t)).toBe(true);
});

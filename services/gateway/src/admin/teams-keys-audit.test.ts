import { openTestDatabase, type Db } from '@quire/db';
import { ADMIN_AUTH, startHarness, type Harness } from '../testing/gateway-harness.js';

let db: Db;
let harness: Harness;

beforeAll(async () => {
  db = await openTestDatabase();
  harness = await startHarness(db, { providers: {} });
});
afterAll(async () => {
  await harness?.close();
  await db?.close();
});

test('a key change and its audit row commit together: when the audit row cannot be written, the change is not made', async () => {
  await harness.post('/v1/teams', { id: 'team-audit', name: 'Audited' });
  const created = (await (await harness.post('/v1/keys', { team_id: 'team-audit', name: 'k', role: 'member' })).json()) as { id: string };
  const secretOf = async () => (await db.query<{ secret_hash: string }>(`SELECT secret_hash FROM api_keys WHERE id = $1`, [created.id])).rows[0]!.secret_hash;
  const before = await secretOf();
  // The audit log refuses this one action (standing in for a full disk or a lost connection mid-change).
  await db.query(`ALTER TABLE audit_log ADD CONSTRAINT refuse_rotations CHECK (action <> 'key.rotate')`);
  try {
    const rotated = await harness.post(`/v1/keys/${created.id}/rotate`, {});
    expect(rotated.status).toBe(500);
    expect(await secretOf()).toBe(before);
  } finally {
    await db.query(`ALTER TABLE audit_log DROP CONSTRAINT refuse_rotations`);
  }
  const rotated = await harness.post(`/v1/keys/${created.id}/rotate`, {});
  expect(rotated.status).toBe(200);
  expect(await secretOf()).not.toBe(before);
  const audit = await db.query<{ action: string }>(`SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`, [created.id]);
  expect(audit.rows.map((r) => r.action)).toEqual(['key.create', 'key.rotate']);
});

test('a key patch that narrows its models reads the team inside its own transaction (embedded PGlite has one connection)', async () => {
  await harness.post('/v1/teams', { id: 'team-narrow', name: 'Narrow', allowed_models: ['openai/*'] });
  const created = (await (await harness.post('/v1/keys', { team_id: 'team-narrow', name: 'k', role: 'member' })).json()) as { id: string };
  const patched = await fetch(`${harness.url}/v1/keys/${created.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...ADMIN_AUTH },
    body: JSON.stringify({ allowed_models: ['openai/gpt-4o-mini'] }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(patched.status).toBe(200);
  expect(((await patched.json()) as { allowed_models: string[] }).allowed_models).toEqual(['openai/gpt-4o-mini']);
});

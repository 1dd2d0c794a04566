import { openTestDatabase, type Db } from '@quire/db';
import { runCli } from '../../services/gateway/src/cli/quire-cli.js';
import { startHarness, TEST_ADMIN_KEY, type Harness } from '../../services/gateway/src/testing/gateway-harness.js';

let db: Db;
let gw: Harness;
beforeAll(async () => {
  db = await openTestDatabase();
  gw = await startHarness(db, { providers: {} });
});
afterAll(async () => {
  await gw?.close();
  await db?.close();
});

test('pnpm quire: create a team and a key, set a budget, show usage', async () => {
  const env = { QUIRE_URL: gw.url, QUIRE_API_KEY: TEST_ADMIN_KEY };
  const lines: string[] = [];
  const run = (...args: string[]) => runCli(args, env, (s) => lines.push(s));
  expect(await run('create-team', 'cli-team', '--name', 'CLI', '--rpm', '60')).toBe(0);
  expect(await run('create-key', '--team', 'cli-team', '--role', 'member', '--groups', 'hr,legal')).toBe(0);
  const key = JSON.parse(lines.at(-1)!);
  expect(key).toMatchObject({ team_id: 'cli-team', role: 'member', groups: ['hr', 'legal'] });
  expect(key.key).toMatch(/^qk_live_/);
  expect(await run('set-budget', '--team', 'cli-team', '--limit', '25', '--period', 'month')).toBe(0);
  expect(JSON.parse(lines.at(-1)!)).toMatchObject({ scope: 'team', scope_id: 'cli-team', period: 'month', used_usd: '0' });
  expect(await run('usage', '--group-by', 'team')).toBe(0);
  expect(JSON.parse(lines.at(-1)!).object).toBe('usage');
  expect(await runCli(['keys'], { QUIRE_URL: gw.url, QUIRE_API_KEY: key.key }, (s) => lines.push(s))).toBe(1);
  expect(await run('nonsense')).toBe(2);
});

test('pnpm quire set-budget changes only what it is given: a raised limit keeps the webhook and soft threshold', async () => {
  const env = { QUIRE_URL: gw.url, QUIRE_API_KEY: TEST_ADMIN_KEY };
  const lines: string[] = [];
  const run = (...args: string[]) => runCli(args, env, (s) => lines.push(s));
  const last = () => JSON.parse(lines.at(-1)!);
  expect(await run('create-team', 'hook-team')).toBe(0);
  expect(await run('set-budget', '--team', 'hook-team', '--limit', '50', '--soft', '0.5', '--webhook', 'https://hooks.example.com/quire')).toBe(0);
  expect(last()).toMatchObject({ limit_usd: num('50'), soft_fraction: num('0.5'), alert_webhook: 'https://hooks.example.com/quire' });
  expect(await run('set-budget', '--team', 'hook-team', '--limit', '100')).toBe(0);
  expect(last()).toMatchObject({ limit_usd: num('100'), soft_fraction: num('0.5'), alert_webhook: 'https://hooks.example.com/quire' });
  expect(await run('set-budget', '--team', 'hook-team', '--limit', '100', '--webhook', 'none')).toBe(0);
  expect(last()).toMatchObject({ limit_usd: num('100'), soft_fraction: num('0.5'), alert_webhook: null });
  // A new budget (another period) starts from the defaults.
  expect(await run('set-budget', '--team', 'hook-team', '--limit', '5', '--period', 'day')).toBe(0);
  expect(last()).toMatchObject({ period: 'day', soft_fraction: num('0.8'), alert_webhook: null });
});

test('pnpm quire create-team --rpm abc is a usage error, and no team is made', async () => {
  const lines: string[] = [];
  expect(await runCli(['create-team', 'bad-rpm', '--rpm', 'abc'], { QUIRE_URL: gw.url, QUIRE_API_KEY: TEST_ADMIN_KEY }, (s) => lines.push(s))).toBe(2);
  expect(lines[0]).toMatch(/^--rpm takes a whole number/);
  const res = await fetch(`${gw.url}/v1/teams/bad-rpm`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
  expect(res.status).toBe(404);
});

/** A numeric column as the API shows it, at the column's scale ("0.5000"). */
function num(value: string) {
  return expect.stringMatching(new RegExp(value.includes('.') ? `^${value.replace('.', '\\.')}0*$` : `^${value}(\\.0*)?$`));
}

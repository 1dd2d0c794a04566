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

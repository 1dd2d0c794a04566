import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runCli } from './quire-cli.js';

/** Runs the CLI in process with no server: none of these reach the network. */
async function run(...args: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await runCli(args, {}, (s) => lines.push(s));
  return { code, text: lines.join('\n') };
}

describe('pnpm quire: help and usage errors', () => {
  it.each([['--help'], ['-h'], ['help'], ['create-key', '--help']])('%s prints the help and exits 0', async (...args) => {
    const { code, text } = await run(...args);
    expect(code).toBe(0);
    expect(text).toContain('usage: pnpm quire <command> [options]');
    expect(text).toContain('QUIRE_API_KEY');
  });

  it('no command at all prints the help as a usage error (exit 2)', async () => {
    const { code, text } = await run();
    expect(code).toBe(2);
    expect(text).toContain('usage: pnpm quire <command> [options]');
  });

  it('an unknown option is a one-line usage error, not a thrown stack', async () => {
    const { code, text } = await run('teams', '--colour', 'red');
    expect(code).toBe(2);
    expect(text.split('\n')[0]).toMatch(/Unknown option '--colour'/);
    expect(text).toContain('usage: pnpm quire');
  });

  it('says where the key comes from when QUIRE_API_KEY is unset', async () => {
    const { code, text } = await run('teams');
    expect(code).toBe(2);
    expect(text).toBe('QUIRE_API_KEY is not set: an admin key, such as the one the first start of Quire prints, or the QUIRE_ADMIN_KEY it was started with.');
  });

  // A port nothing listens on: a command that got as far as the network would throw, not exit 2.
  const offline = { QUIRE_URL: 'http://127.0.0.1:9', QUIRE_API_KEY: 'qk_live_test' };
  const malformed = [
    ['create-team', 't', '--rpm', 'abc'],
    ['create-team', 't', '--tpm', '1.5k'],
    ['create-team', 't', '--rpm', '1.5'],
    ['create-team', 't', '--rpm=-5'],
    ['create-key', '--team', 't', '--role', 'member', '--rpm', '10x'],
    ['rotate-key', 'k', '--grace', '1e3'],
    ['rotate-key', 'k', '--grace', ''],
    ['set-budget', '--team', 't', '--limit', '5', '--soft', 'abc'],
    ['set-budget', '--team', 't', '--limit', '5', '--soft', '1.5'],
    ['set-budget', '--team', 't', '--limit', '5', '--soft', '0'],
  ];
  it.each(malformed.map((args) => [args.join(' '), args] as const))('%s is a usage error (exit 2) that names the option, sending nothing', async (_name, args) => {
    const lines: string[] = [];
    const code = await runCli(args, offline, (s) => lines.push(s));
    expect(code).toBe(2);
    const option = ['--rpm', '--tpm', '--grace', '--soft'].find((name) => args.some((a) => a === name || a.startsWith(`${name}=`)))!;
    expect(lines.join('\n').split('\n')[0]).toContain(`${option} takes`);
    expect(lines.join('\n')).toContain('usage: pnpm quire');
  });

  it('as a process (what `pnpm quire --help` runs), --help exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'services/gateway/src/cli/quire-cli.ts', '--help'], { env: { PATH: process.env.PATH ?? '' } });
    expect(stdout).toContain('usage: pnpm quire <command> [options]');
  });
});

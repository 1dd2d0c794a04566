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

  it('as a process (what `pnpm quire --help` runs), --help exits 0', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'services/gateway/src/cli/quire-cli.ts', '--help'], { env: { PATH: process.env.PATH ?? '' } });
    expect(stdout).toContain('usage: pnpm quire <command> [options]');
  });
});

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker, withoutTsxLoader } from './worker-exec-argv.js';

const ECHO_ARGV = new URL(`data:text/javascript,${encodeURIComponent("import { parentPort } from 'node:worker_threads'; parentPort.postMessage(process.execArgv);")}`);

function execArgvOf(parentArgv: string[]): Promise<string[]> {
  const worker = startWorker(ECHO_ARGV, {}, parentArgv);
  return new Promise((resolve, reject) => {
    worker.once('message', (argv: string[]) => void worker.terminate().then(() => resolve(argv)));
    worker.once('error', reject);
  });
}

describe('parse workers start whatever flags the service was started with', () => {
  test('an inherited tsx loader is left out, in each of its spellings', () => {
    expect(withoutTsxLoader(['--import', 'tsx', '--enable-source-maps', '--import=tsx/esm', '--require', 'tsx/cjs', '--loader=tsx', '--conditions', 'dev'])).toEqual(['--enable-source-maps', '--conditions', 'dev']);
    expect(withoutTsxLoader(['--import', './my-hook.mjs'])).toEqual(['--import', './my-hook.mjs']);
  });

  test('per-process V8 flags, which a worker thread refuses, are dropped and the rest kept', async () => {
    await expect(execArgvOf(['--max-old-space-size=4096', '--enable-source-maps', '--expose-gc', '--perf-basic-prof'])).resolves.toEqual(['--enable-source-maps']);
    // Remembered: a second worker from the same flags starts with the same list.
    await expect(execArgvOf(['--max-old-space-size=4096', '--enable-source-maps', '--expose-gc', '--perf-basic-prof'])).resolves.toEqual(['--enable-source-maps']);
    await expect(execArgvOf(['--enable-source-maps'])).resolves.toEqual(['--enable-source-maps']);
  });

  test('a service started with --max-old-space-size parses documents (it failed every one)', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const script = path.join(here, '../testing/parse-one-document.ts');
    const run = spawnSync(process.execPath, ['--max-old-space-size=1024', '--stack-size=900', '--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).not.toMatch(/ERR_WORKER_INVALID_EXEC_ARGV/);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').pop()!)).toEqual({ chunks: 2, hasText: true });
  }, 60_000);
});

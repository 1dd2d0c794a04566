import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * services/retrieval/src/main.ts as docker-compose runs it: without DATABASE_URL it refuses to start
 * (alone, an embedded database would be an empty one of its own), a bad setting exits 2 with one log
 * line, and a start that fails exits 1 with the failure logged, never a raw stack trace.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function runRetrieval(env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/retrieval/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', QUIRE_LOG_LEVEL: 'info',
      QUIRE_INTERNAL_SECRET: 'retrieval-main-test-secret', QUIRE_GATEWAY_URL: 'http://127.0.0.1:9', RETRIEVAL_HOST: '127.0.0.1', RETRIEVAL_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  child.stdout.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  // Never expected to start: the harness kills one that does, so the test fails instead of hanging.
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, lines });
    }),
  );
}

const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('without DATABASE_URL it exits 2 and says what it needs', async () => {
  const { code, lines } = await runRetrieval({});
  expect(code).toBe(2);
  expect(parsed(lines)).toEqual([expect.objectContaining({ level: 'error', msg: 'invalid configuration', reason: expect.stringContaining('DATABASE_URL is required') })]);
});

test('a bad setting exits 2 with one log line', async () => {
  const { code, lines } = await runRetrieval({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/quire', RETRIEVAL_PORT: 'eighty-two' });
  expect(code).toBe(2);
  expect(parsed(lines)).toEqual([expect.objectContaining({ msg: 'invalid configuration', reason: expect.stringContaining('RETRIEVAL_PORT') })]);
});

test('a database it cannot reach exits 1 with the failure logged', async () => {
  const { code, lines } = await runRetrieval({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/quire' });
  expect(code).toBe(1);
  expect(parsed(lines).at(-1)).toMatchObject({ level: 'error', msg: 'retrieval failed to start', err: expect.stringContaining('ECONNREFUSED') });
});

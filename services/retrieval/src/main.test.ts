import { fileURLToPath } from 'node:url';
import { exitWithin, startServiceProcess } from '@quire/fakes';

/**
 * services/retrieval/src/main.ts as docker-compose runs it: without DATABASE_URL it refuses to start
 * (alone, an embedded database would be an empty one of its own), a bad setting exits 2 with one log
 * line, and a start that fails exits 1 with the failure logged, never a raw stack trace.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function runRetrieval(env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  const child = startServiceProcess(ROOT, 'services/retrieval/src/main.ts', {
    QUIRE_LOG_LEVEL: 'info',
    QUIRE_INTERNAL_SECRET: 'retrieval-main-test-secret-0123456789', QUIRE_GATEWAY_URL: 'http://127.0.0.1:9', RETRIEVAL_HOST: '127.0.0.1', RETRIEVAL_PORT: '0',
    ...env,
  });
  // Never expected to start: one that does is killed, so the test fails instead of hanging.
  const code = await exitWithin(child, 30_000);
  if (code !== 'still running') return { code, lines: child.lines };
  child.process.kill('SIGKILL');
  await child.exited;
  return { code: null, lines: child.lines };
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

test('an internal secret shorter than the gateway accepts exits 2', async () => {
  const { code, lines } = await runRetrieval({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/quire', QUIRE_INTERNAL_SECRET: 'twenty-chars-secret!' });
  expect(code).toBe(2);
  expect(parsed(lines)).toEqual([expect.objectContaining({ msg: 'invalid configuration', reason: expect.stringContaining('at least 32 characters') })]);
});

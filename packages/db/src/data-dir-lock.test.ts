import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataDirInUseError, lockDataDir } from './data-dir-lock.js';
import { openPGlite } from './pglite-db.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'quire-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A live process that is not this one, and a way to end it. */
function otherProcess(): Promise<{ pid: number; end(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return new Promise((resolve) =>
    child.once('spawn', () => resolve({ pid: child.pid!, end: () => new Promise((done) => (child.once('exit', () => done()), child.kill('SIGKILL'))) })),
  );
}

describe('an embedded database folder is held by one process at a time', () => {
  test('a second holder is refused until the first lets go', () => {
    const file = path.join(dir, 'pgdata.lock');
    const first = lockDataDir(file);
    expect(() => lockDataDir(file)).toThrow(DataDirInUseError);
    first.release();
    expect(existsSync(file)).toBe(false);
    lockDataDir(file).release();
  });

  test('a live process holding it is respected; once it is gone its lock is taken over', async () => {
    const file = path.join(dir, 'pgdata.lock');
    const other = await otherProcess();
    writeFileSync(file, JSON.stringify({ pid: other.pid, host: os.hostname() }));
    let refusal: unknown;
    try {
      lockDataDir(file);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(DataDirInUseError);
    expect((refusal as DataDirInUseError).code).toBe('data_dir_in_use');
    expect((refusal as DataDirInUseError).holderPid).toBe(other.pid);
    expect((refusal as Error).message).toContain(`pid ${other.pid}`);

    await other.end();
    const lock = lockDataDir(file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ pid: process.pid, host: os.hostname() });
    lock.release();
  });

  test("a lock naming this process's own pid that this process does not hold is stale (the pid was reused after a crash)", () => {
    const file = path.join(dir, 'pgdata.lock');
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: os.hostname() }));
    const lock = lockDataDir(file);
    // Held now: a second open in this process is refused.
    expect(() => lockDataDir(file)).toThrow(DataDirInUseError);
    lock.release();
  });

  test('a lock written on another host (a shared volume) is respected', () => {
    const file = path.join(dir, 'pgdata.lock');
    writeFileSync(file, JSON.stringify({ pid: 1, host: `${os.hostname()}-elsewhere` }));
    expect(() => lockDataDir(file)).toThrow(DataDirInUseError);
  });

  test('openPGlite on a folder another process has open fails with a clear error, and opens once it is free', async () => {
    const dataDir = path.join(dir, 'pgdata');
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { openPGlite } = await import(${JSON.stringify(path.resolve('packages/db/src/pglite-db.ts'))});
      const db = await openPGlite({ dataDir: ${JSON.stringify(dataDir)} });
      process.stdout.write('OPEN\\n');
      process.stdin.once('data', async () => { await db.close(); process.exit(0); });
    `], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('OPEN') && resolve());
      child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    await expect(openPGlite({ dataDir })).rejects.toThrow(DataDirInUseError);
    await new Promise((resolve) => (child.once('exit', resolve), child.stdin!.write('close\n')));
    const db = await openPGlite({ dataDir });
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.close();
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
  }, 60_000);
});

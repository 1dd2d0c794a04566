import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitWithin, startServiceProcess } from '@quire/fakes';
import { createLogger } from '@quire/server-kit';
import { bindPublicPort } from '../../scripts/public-port.js';
import { PortInUseError, startQuire } from '../../scripts/start-quire.js';

/**
 * The all-in-one start as a newcomer meets it: `bash scripts/start.sh` and `pnpm start`
 * (scripts/start-embedded.ts) on a port that is taken, and stopped with a SIGTERM.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const logger = createLogger({ test: 'start-scripts' }, 'error');

let held: Server;
let heldPort: number;
let dataDir: string;
beforeAll(async () => {
  held = createServer();
  await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
  heldPort = (held.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => held.close(resolve));
});
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'quire-start-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('a port in use stops the start before the first admin key is made', () => {
  it('startQuire refuses with port_in_use, naming the port and QUIRE_PORT, and creates nothing', async () => {
    const started = startQuire({ logger, env: { QUIRE_DATA_DIR: dataDir, QUIRE_PORT: String(heldPort) } });
    await expect(started).rejects.toBeInstanceOf(PortInUseError);
    await expect(started).rejects.toMatchObject({ code: 'port_in_use', port: heldPort, host: '127.0.0.1' });
    await expect(started).rejects.toThrow(`port ${heldPort} on 127.0.0.1 is already in use`);
    await expect(started).rejects.toThrow('QUIRE_PORT');
    // No database, so no admin key was created (and none printed): the next start on a free port prints it.
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('pnpm start says so in one line, prints no key and exits 1', async () => {
    const child = startServiceProcess(ROOT, 'scripts/start-embedded.ts', { QUIRE_DATA_DIR: dataDir, QUIRE_PORT: String(heldPort), QUIRE_LOG_LEVEL: 'error' });
    expect(await exitWithin(child, 60_000)).toBe(1);
    expect(child.lines).toEqual([
      `Quire did not start: port ${heldPort} on 127.0.0.1 is already in use (another Quire?). Stop what holds it, or set QUIRE_PORT to a free port, e.g. QUIRE_PORT=8090.`,
    ]);
    expect(await readdir(dataDir)).toEqual([]);
  });
});

describe('the public port while the rest starts', () => {
  it('answers 503 with retry-after until the gateway is handed over, then the gateway answers', async () => {
    const port = await bindPublicPort(0, '127.0.0.1');
    try {
      const early = await fetch(`${port.server.url}/readyz`);
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('1');
      expect(((await early.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
      port.serve((_req, res) => void res.writeHead(200).end('ok'));
      expect((await fetch(`${port.server.url}/readyz`)).status).toBe(200);
    } finally {
      await port.server.close();
    }
  });
});

/** The pid in the data folder's lock file, if a live process holds it. */
function lockHolder(dir: string): number | undefined {
  const file = path.join(dir, 'pgdata.lock');
  if (!existsSync(file)) return undefined;
  const pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

describe('bash scripts/start.sh', () => {
  it('is Quire itself once started, so a SIGTERM to it stops Quire and frees the data folder', async () => {
    const child = spawn('bash', ['scripts/start.sh'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', QUIRE_DATA_DIR: dataDir, QUIRE_PORT: '0', QUIRE_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      // Installs (a no-op on a checkout already installed), then starts.
      for (const deadline = Date.now() + 120_000; !/Quire is listening on http:\/\/127\.0\.0\.1:\d+/.test(output); ) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`Quire did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // exec: the process the shell started is the one that holds the data folder.
      expect(lockHolder(dataDir)).toBe(child.pid);
      child.kill('SIGTERM');
      expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000).unref())])).toBe(0);
      expect(lockHolder(dataDir)).toBeUndefined();
    } finally {
      // Without exec the SIGTERM stopped a wrapper, and Quire kept running with the folder locked: stop it here.
      const orphan = lockHolder(dataDir);
      if (orphan !== undefined && orphan !== process.pid) process.kill(orphan, 'SIGKILL');
      child.kill('SIGKILL');
    }
  }, 180_000);
});

import { spawn, type ChildProcess } from 'node:child_process';

/** A service's `main.ts` run as its own process, as docker-compose runs it, with its output lines kept. */
export interface ServiceProcess {
  process: ChildProcess;
  /** Every non-empty line of stdout and stderr, in arrival order. */
  lines: string[];
  exited: Promise<number | null>;
  /** The first line matching `pattern`; rejects after `ms`, or when the process exits first. */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
}

/**
 * Starts `node --import tsx <script>` in `cwd` with only `env` (plus PATH and HOME): the child sees
 * exactly the settings a test gives it, not the test runner's.
 */
export function startServiceProcess(cwd: string, script: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => void lines.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  // 'close', not 'exit': by then every line the process wrote has been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    process: child,
    lines,
    exited,
    async waitFor(pattern, ms = 30_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const line = lines.find((l) => pattern.test(l));
        if (line) return line;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no line matching ${pattern}:\n${lines.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** The exit code, or 'still running' after `ms`. */
export function exitWithin(child: ServiceProcess, ms: number): Promise<number | null | 'still running'> {
  return Promise.race([child.exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms).unref())]);
}

import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The process's flags minus an inherited `--import tsx`: the boot file loads pdf.js with Node's own
 * loader and registers tsx after it, which an inherited tsx hook would defeat (about 200 MB of
 * transformed sources and source maps per worker).
 */
export function withoutTsxLoader(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (['--import', '--loader', '--experimental-loader', '--require', '-r'].includes(arg) && /^tsx(\/|$)/.test(args[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^--(import|loader|experimental-loader|require)=tsx(\/|$)/.test(arg)) continue;
    out.push(arg);
  }
  return out;
}

/** The flags Node named as refused in an ERR_WORKER_INVALID_EXEC_ARGV error ("...flags: --a, --b"). */
function refusedFlags(error: unknown): string[] | undefined {
  if ((error as { code?: unknown })?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') return undefined;
  const listed = /flags: (.*)$/s.exec((error as Error).message)?.[1];
  return listed ? listed.split(', ').map((flag) => flag.trim()).filter(Boolean) : undefined;
}

const accepted = new Map<string, string[]>();

/**
 * A worker started with the parent's flags, less those a worker thread refuses. Node throws
 * ERR_WORKER_INVALID_EXEC_ARGV for per-process V8 flags such as `--max-old-space-size` or
 * `--perf-basic-prof`, so a service started as `node --max-old-space-size=4096 main.js` could not
 * start a single parse worker and failed every document. A worker's heap is bounded by its own
 * `resourceLimits`, so such flags have nothing to give it. What was refused is remembered per
 * argument list: later workers start at once.
 */
export function startWorker(url: URL, options: Omit<WorkerOptions, 'execArgv'>, parentArgv: readonly string[] = process.execArgv): Worker {
  const key = parentArgv.join('\u0000');
  let args = accepted.get(key) ?? withoutTsxLoader(parentArgv);
  for (;;) {
    try {
      const worker = new Worker(url, { ...options, execArgv: args });
      accepted.set(key, args);
      return worker;
    } catch (error) {
      const refused = refusedFlags(error);
      const kept = refused ? args.filter((arg) => !refused.includes(arg)) : args;
      // Nothing recognisable to drop: the error is not about the flags, or its message changed.
      if (kept.length === args.length) throw error;
      args = kept;
    }
  }
}

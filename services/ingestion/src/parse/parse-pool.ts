import { Worker } from 'node:worker_threads';
import { ParseError } from './extracted-text.js';
import type { ParseLimits, ParsedDocument } from './parsed-document.js';

export interface ParsePoolOptions {
  /** Workers kept; each parses one document at a time. */
  size: number;
  /** Wall-clock budget of one parse; the worker is terminated when it runs over. */
  timeoutMs: number;
  /** V8 old-generation heap of a worker; exceeding it kills that worker only. */
  maxHeapMb: number;
  limits: Omit<ParseLimits, 'onPage'>;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
}

interface Pending {
  resolve: (doc: ParsedDocument) => void;
  reject: (error: unknown) => void;
  onPage?: (page: number, total: number) => void;
}

const BOOT = new URL('./parse-worker-boot.mjs', import.meta.url);

/**
 * The process's flags minus an inherited `--import tsx`: the boot file loads pdf.js with Node's own
 * loader and registers tsx after it, which an inherited tsx hook would defeat (about 200 MB of
 * transformed sources and source maps per worker).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
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

/**
 * Every parse runs in a worker thread with a heap limit and a deadline: a hostile or broken file
 * (a zip bomb, an endless content stream, a parser bug) costs one worker, which is replaced, and
 * never the service. Parsers receive a copy of the bytes; results come back as plain data.
 */
export function createParsePool(options: ParsePoolOptions) {
  const slots: Slot[] = [];
  const waiters: ((slot: Slot) => void)[] = [];
  let nextId = 1;
  let closed = false;

  const spawn = (): Slot => {
    const worker = new Worker(BOOT, {
      execArgv: workerExecArgv(),
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(8, options.maxHeapMb / 8)) },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    // A worker can report more than one error (e.g. out of memory while being terminated); an
    // unhandled 'error' event would take the whole service down.
    worker.on('error', () => undefined);
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: { ready?: boolean }) => {
        if (m?.ready) {
          worker.off('message', onMessage);
          worker.off('error', reject);
          resolve();
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    ready.catch(() => undefined);
    return { worker, ready, busy: false };
  };

  const acquire = async (): Promise<Slot> => {
    const idle = slots.find((s) => !s.busy);
    if (idle) {
      idle.busy = true;
      return idle;
    }
    if (slots.length < options.size) {
      const slot = spawn();
      slot.busy = true;
      slots.push(slot);
      return slot;
    }
    return new Promise((resolve) => waiters.push(resolve));
  };

  const release = (slot: Slot, broken: boolean) => {
    let target = slot;
    if (broken) {
      void slot.worker.terminate();
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      if (closed) return;
      target = spawn();
      slots.push(target);
    }
    const waiter = waiters.shift();
    if (waiter) {
      target.busy = true;
      waiter(target);
    } else target.busy = false;
  };

  return {
    async parse(bytes: Uint8Array, mime: string, onPage?: (page: number, total: number) => void): Promise<ParsedDocument> {
      const slot = await acquire();
      let broken = false;
      try {
        await slot.ready.catch((error: unknown) => {
          broken = true;
          throw new ParseError(`The parser could not start: ${(error as Error)?.message ?? String(error)}`);
        });
        const id = nextId++;
        return await new Promise<ParsedDocument>((resolve, reject) => {
          const pending: Pending = { resolve, reject, ...(onPage ? { onPage } : {}) };
          const done = () => {
            clearTimeout(timer);
            slot.worker.off('message', onMessage);
            slot.worker.off('error', onError);
            slot.worker.off('exit', onExit);
          };
          const fail = (error: unknown) => {
            broken = true;
            done();
            pending.reject(error);
          };
          const onMessage = (m: { id?: number; result?: ParsedDocument; error?: { message: string; parse: boolean }; progress?: { page: number; total: number } }) => {
            if (m.id !== id) return;
            if (m.progress) return pending.onPage?.(m.progress.page, m.progress.total);
            done();
            if (m.result) pending.resolve(m.result);
            else pending.reject(m.error?.parse ? new ParseError(m.error.message) : new Error(m.error?.message ?? 'parse worker failed'));
          };
          const onError = (error: Error & { code?: string }) =>
            fail(
              error.code === 'ERR_WORKER_OUT_OF_MEMORY'
                ? new ParseError(`Parsing ran out of its ${options.maxHeapMb} MB memory limit; the file is too large or malformed.`)
                : new ParseError(`The parser crashed: ${error.message}`),
            );
          const onExit = (code: number) => fail(new ParseError(`The parser stopped unexpectedly (exit ${code}).`));
          const timer = setTimeout(
            () => fail(new ParseError(`Parsing took longer than ${Math.round(options.timeoutMs / 100) / 10} s (the limit) and was stopped.`)),
            options.timeoutMs,
          );
          slot.worker.on('message', onMessage);
          slot.worker.on('error', onError);
          slot.worker.on('exit', onExit);
          // A copy goes to the worker, so the caller's bytes stay intact.
          slot.worker.postMessage({ id, bytes: new Uint8Array(bytes), mime, limits: options.limits });
        });
      } finally {
        release(slot, broken);
      }
    },
    /** Terminates the workers; a later parse starts new ones. */
    async close() {
      closed = true;
      await Promise.all(slots.splice(0).map((s) => s.worker.terminate()));
      closed = false;
    },
  };
}

export type ParsePool = ReturnType<typeof createParsePool>;

import type { Worker } from 'node:worker_threads';
import type { Chunking } from '@quire/contracts';
import { ChunkingError } from '../chunk/chunk-text.js';
import { LIMIT_SETTING, type FailedLimit } from '../limits.js';
import { ChunkingStoppedError } from './chunking-stopped-error.js';
import { ParseError } from './extracted-text.js';
import type { ChunkedDocument, ParseSummary } from './parse-and-chunk.js';
import type { WorkerError, WorkerReply, WorkerRequest } from './parse-worker.js';
import type { ParseLimits } from './parsed-document.js';
import { TooManyChunksError } from './too-many-chunks-error.js';
import { startWorker } from './worker-exec-argv.js';

export interface ParsePoolOptions {
  /** Workers kept; each parses and chunks one document at a time, shared fairly between tenants. */
  size: number;
  /** Wall-clock budget of one parse; the worker is terminated when it runs over. */
  timeoutMs: number;
  /** Wall-clock budget of chunking the parsed text, counted from the end of parsing; `timeoutMs` when unset. */
  chunkTimeoutMs?: number;
  /** V8 old-generation heap of a worker, for parsing and chunking together; exceeding it kills that worker only. */
  maxHeapMb: number;
  limits: Omit<ParseLimits, 'onPage'>;
}

export interface ParseAndChunkHooks {
  /**
   * Whose work this is (a team id): the pool shares its workers fairly between tenants (see
   * createParsePool). Work without one shares a single tenant.
   */
  tenant?: string;
  /** More chunks than this fail with TooManyChunksError, raised in the worker. */
  maxChunks?: number;
  onPage?: (page: number, total: number) => void;
  /** Parsing is done and chunking starts (its budget starts now). */
  onParsed?: (summary: ParseSummary) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
}

/** One tenant's share of the pool: workers it holds now, its requests waiting in order, and its last turn. */
interface Tenant {
  running: number;
  waiting: ((slot: Slot) => void)[];
  servedAt: number;
}

const SHARED_TENANT = '';

const BOOT = new URL('./parse-worker-boot.mjs', import.meta.url);

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** The worker's error as the class the service classifies (see jobs/classify-failure.ts). */
function workerError(error: WorkerError): Error {
  switch (error.kind) {
    case 'parse':
      return new ParseError(error.message, { code: error.code, limit: error.limit });
    case 'chunking':
      return new ChunkingError(error.message);
    case 'too_many_chunks':
      return new TooManyChunksError(error.count, error.limit);
    default:
      return new Error(error.message || 'parse worker failed');
  }
}

/**
 * Every parse, and the chunking of its text, runs in a worker thread with a heap limit and a
 * deadline per step: a hostile or broken file (a zip bomb, an endless content stream, a parser bug,
 * a text that takes the chunker minutes) costs one worker, which is replaced, and never the service
 * or its event loop. Workers receive a copy of the bytes and send back the chunks (with their
 * offsets, pages, heading paths and hashes) as plain data; the extracted text stays in the worker.
 *
 * Workers are shared fairly between tenants (teams): a file that is cheap to upload but parses until
 * its deadline (minutes by default) must not make every other team wait behind a backlog of them.
 * A free worker goes to the waiting tenant that holds the fewest workers, of equals the one served
 * longest ago, so tenants with work waiting take turns, and while others wait a tenant keeps at most
 * `size - 1` workers (with one worker, tenants alternate). A tenant alone uses every worker.
 */
export function createParsePool(options: ParsePoolOptions) {
  const chunkTimeoutMs = options.chunkTimeoutMs ?? options.timeoutMs;
  const heapLimit: FailedLimit = { name: 'parseHeapMb', value: options.maxHeapMb };
  const slots: Slot[] = [];
  const tenants = new Map<string, Tenant>();
  let turn = 0;
  let nextId = 1;
  let closed = false;

  const tenantOf = (key: string): Tenant => {
    let tenant = tenants.get(key);
    if (!tenant) tenants.set(key, (tenant = { running: 0, waiting: [], servedAt: 0 }));
    return tenant;
  };
  const grant = (tenant: Tenant, slot: Slot): Slot => {
    slot.busy = true;
    tenant.running++;
    tenant.servedAt = ++turn;
    return slot;
  };
  // Tenants are kept only while they hold or wait for a worker: the map does not grow with every team ever seen.
  const forgetIfIdle = (key: string, tenant: Tenant) => {
    if (tenant.running === 0 && tenant.waiting.length === 0) tenants.delete(key);
  };
  const nextWaiting = (): Tenant | undefined => {
    let best: Tenant | undefined;
    for (const tenant of tenants.values()) {
      if (tenant.waiting.length === 0) continue;
      if (!best || tenant.running < best.running || (tenant.running === best.running && tenant.servedAt < best.servedAt)) best = tenant;
    }
    return best;
  };

  const spawn = (): Slot => {
    const worker = startWorker(BOOT, {
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

  const acquire = async (key: string): Promise<Slot> => {
    const tenant = tenantOf(key);
    const idle = slots.find((s) => !s.busy);
    if (idle) return grant(tenant, idle);
    if (slots.length < options.size) {
      const slot = spawn();
      slots.push(slot);
      return grant(tenant, slot);
    }
    return new Promise((resolve) => tenant.waiting.push(resolve));
  };

  const release = (slot: Slot, broken: boolean, key: string) => {
    const owner = tenantOf(key);
    owner.running--;
    forgetIfIdle(key, owner);
    let target = slot;
    if (broken) {
      void slot.worker.terminate();
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      if (closed) return;
      target = spawn();
      slots.push(target);
    }
    const next = nextWaiting();
    if (next) next.waiting.shift()!(grant(next, target));
    else target.busy = false;
  };

  return {
    /** Parses the bytes and chunks the text with `chunking`, both in a worker, each step under its own deadline. */
    async parseAndChunk(bytes: Uint8Array, mime: string, chunking: Chunking, hooks: ParseAndChunkHooks = {}): Promise<ChunkedDocument> {
      const tenant = hooks.tenant ?? SHARED_TENANT;
      const slot = await acquire(tenant);
      let broken = false;
      try {
        await slot.ready.catch((error: unknown) => {
          broken = true;
          throw new ParseError(`The parser could not start: ${(error as Error)?.message ?? String(error)}`);
        });
        const id = nextId++;
        return await new Promise<ChunkedDocument>((resolve, reject) => {
          let step: 'parsing' | 'chunking' = 'parsing';
          let timer: NodeJS.Timeout | undefined;
          const deadline = (ms: number, message: () => Error) => {
            clearTimeout(timer);
            timer = setTimeout(() => fail(message()), ms);
          };
          const done = () => {
            clearTimeout(timer);
            slot.worker.off('message', onMessage);
            slot.worker.off('error', onError);
            slot.worker.off('exit', onExit);
          };
          const fail = (error: unknown) => {
            broken = true;
            done();
            reject(error);
          };
          // A hook that throws fails this document; thrown out of a 'message' listener it would take the service down.
          const hook = (call: () => void) => {
            try {
              call();
            } catch (error) {
              fail(error);
            }
          };
          const onMessage = (m: WorkerReply) => {
            if (m.id !== id) return;
            if ('progress' in m) return hook(() => hooks.onPage?.(m.progress.page, m.progress.total));
            if ('parsed' in m) {
              step = 'chunking';
              deadline(chunkTimeoutMs, () => new ChunkingStoppedError('chunk_timeout', `Chunking took longer than ${seconds(chunkTimeoutMs)} s (the limit, ${LIMIT_SETTING.chunkTimeoutMs}) and was stopped.`, { name: 'chunkTimeoutMs', value: chunkTimeoutMs }));
              return hook(() => hooks.onParsed?.(m.parsed));
            }
            done();
            if ('result' in m) resolve(m.result);
            else reject(workerError(m.error));
          };
          const onError = (error: Error & { code?: string }) => {
            const oom = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
            if (step === 'parsing') {
              return fail(
                oom
                  ? new ParseError(`Parsing ran out of its ${options.maxHeapMb} MiB memory limit (${LIMIT_SETTING.parseHeapMb}); the file is too large or malformed.`, { limit: heapLimit })
                  : new ParseError(`The parser crashed: ${error.message}`),
              );
            }
            fail(
              oom
                ? new ChunkingStoppedError('chunk_out_of_memory', `Chunking ran out of its ${options.maxHeapMb} MiB memory limit (${LIMIT_SETTING.parseHeapMb}); the text is too large for these chunking settings.`, heapLimit)
                : new ChunkingError(`The chunker crashed: ${error.message}`),
            );
          };
          const onExit = (code: number) =>
            fail(step === 'chunking' ? new ChunkingError(`The chunker stopped unexpectedly (exit ${code}).`) : new ParseError(`The parser stopped unexpectedly (exit ${code}).`));
          deadline(options.timeoutMs, () => new ParseError(`Parsing took longer than ${seconds(options.timeoutMs)} s (the limit, ${LIMIT_SETTING.parseTimeoutMs}) and was stopped.`, {
            limit: { name: 'parseTimeoutMs', value: options.timeoutMs },
          }));
          slot.worker.on('message', onMessage);
          slot.worker.on('error', onError);
          slot.worker.on('exit', onExit);
          const request: WorkerRequest = { id, bytes: new Uint8Array(bytes), mime, limits: options.limits, chunking, ...(hooks.maxChunks !== undefined ? { maxChunks: hooks.maxChunks } : {}) };
          // A copy goes to the worker, so the caller's bytes stay intact.
          slot.worker.postMessage(request);
        });
      } finally {
        release(slot, broken, tenant);
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

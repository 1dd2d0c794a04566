import type { z } from 'zod';
import type { Logger } from '@quire/server-kit';
import { createFairLine } from './fair-line.js';
import { backoffDelay, isUnrecoverable, type JobDefinition, type JobHandler, type JobQueue, type RetryPolicy } from './job-queue.js';

interface Entry<P> {
  jobId: string;
  /** Its fairness key ('' when the definition has none: one line, first come first served). */
  key: string;
  payload: P;
  attempt: number;
}

/**
 * The embedded runner: jobs live in memory, with the same retry rules as BullMQ, and waiting jobs
 * take turns by fairness key (fair-line.ts). Nothing is lost on a crash because Postgres holds every
 * accepted document and the reconciler re-enqueues them.
 */
export function createInProcessQueue<S extends z.ZodType>(
  definition: JobDefinition<S>,
  options: { concurrency: number; retry: RetryPolicy; logger: Logger },
): JobQueue<z.infer<S>> {
  type P = z.infer<S>;
  const waiting = createFairLine<Entry<P>>();
  const known = new Set<string>(); // waiting, delayed or running: duplicates are absorbed
  const delayed = new Map<string, NodeJS.Timeout>(); // jobs waiting out a retry's backoff
  const running = new Set<Promise<void>>();
  let handler: JobHandler<P> | null = null;
  let stopped = false;

  const pump = () => {
    while (handler && !stopped && running.size < options.concurrency && waiting.size > 0) {
      const { key, entry } = waiting.take()!;
      const task = run(handler, entry).finally(() => {
        waiting.finished(key);
        running.delete(task);
        pump();
      });
      running.add(task);
    }
  };

  const run = async (h: JobHandler<P>, entry: Entry<P>): Promise<void> => {
    const context = { jobId: entry.jobId, attempt: entry.attempt, maxAttempts: options.retry.attempts };
    try {
      const parsed = definition.payloadSchema.safeParse(entry.payload);
      if (!parsed.success) {
        options.logger.error('dropping job with an invalid payload', { job: definition.name, job_id: entry.jobId });
        known.delete(entry.jobId);
        return;
      }
      await h(parsed.data, context);
      known.delete(entry.jobId);
    } catch (error) {
      if (isUnrecoverable(error) || entry.attempt >= options.retry.attempts || stopped) {
        known.delete(entry.jobId);
        return;
      }
      const timer = setTimeout(() => {
        delayed.delete(entry.jobId);
        waiting.push(entry.key, { ...entry, attempt: entry.attempt + 1 });
        pump();
      }, backoffDelay(options.retry, entry.attempt));
      delayed.set(entry.jobId, timer);
    }
  };

  return {
    async enqueue(payload) {
      const valid = definition.payloadSchema.parse(payload) as P;
      const jobId = definition.jobId(valid);
      if (!known.has(jobId) && !stopped) {
        known.add(jobId);
        const key = definition.fairnessKey?.(valid) ?? '';
        waiting.push(key, { jobId, key, payload: valid, attempt: 1 });
        pump();
      }
      return { jobId };
    },
    async start(h) {
      handler = h;
      stopped = false;
      pump();
    },
    async discard(jobId) {
      const timer = delayed.get(jobId);
      if (timer) {
        clearTimeout(timer);
        delayed.delete(jobId);
        known.delete(jobId);
        return true;
      }
      if (!waiting.remove((e) => e.jobId === jobId)) return false;
      known.delete(jobId);
      return true;
    },
    async stop() {
      stopped = true;
      for (const t of delayed.values()) clearTimeout(t);
      delayed.clear();
      waiting.clear();
      known.clear();
      await Promise.allSettled([...running]);
    },
    async ping() {},
  };
}

import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Logger } from '@quire/server-kit';
import type { JobDefinition, JobHandler, JobQueue, RetryPolicy } from './job-queue.js';

/**
 * The distributed runner. BullMQ is at-least-once (a stalled job runs again), which the handler
 * tolerates through the document version check. Finished jobs are removed from Redis: Postgres is
 * the record of outcomes, and a removed id can be enqueued again by the reconciler if the final
 * database write was lost.
 */
export function createBullmqQueue<S extends z.ZodType>(
  definition: JobDefinition<S>,
  options: { redisUrl: string; queueName: string; concurrency: number; retry: RetryPolicy; logger: Logger },
): JobQueue<z.infer<S>> {
  type P = z.infer<S>;
  // Workers block on Redis; ioredis must not give up on those commands (BullMQ requires null here).
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  // The worker gets its own connection; BullMQ leaves caller-owned clients open, so stop() closes them.
  let workerConnection: Redis | null = null;
  const queue = new Queue(options.queueName, {
    connection,
    defaultJobOptions: {
      attempts: options.retry.attempts,
      backoff: { type: 'exponential', delay: options.retry.baseDelayMs },
      removeOnComplete: true,
      removeOnFail: true,
    },
  });
  let worker: Worker | null = null;

  return {
    async enqueue(payload) {
      const valid = definition.payloadSchema.parse(payload) as P;
      const jobId = definition.jobId(valid);
      await queue.add(definition.name, { v: definition.version, payload: valid }, { jobId });
      return { jobId };
    },
    async start(handler: JobHandler<P>) {
      workerConnection = connection.duplicate({ maxRetriesPerRequest: null });
      worker = new Worker(
        options.queueName,
        async (job) => {
          const data = job.data as { v?: unknown; payload?: unknown };
          const parsed = definition.payloadSchema.safeParse(data?.payload);
          if (data?.v !== definition.version || !parsed.success) {
            options.logger.error('dropping job with an invalid payload', { job: definition.name, job_id: job.id });
            throw new UnrecoverableError('invalid job payload');
          }
          await handler(parsed.data, {
            jobId: job.id ?? definition.jobId(parsed.data),
            attempt: job.attemptsMade + 1,
            maxAttempts: job.opts.attempts ?? options.retry.attempts,
          });
        },
        { connection: workerConnection, concurrency: options.concurrency, autorun: true },
      );
      worker.on('error', (error) => options.logger.warn('queue worker error', { queue: options.queueName, err: String(error) }));
    },
    async discard(jobId) {
      // BullMQ's remove refuses (0) a job a worker holds the lock of, so a running job stays; it also
      // answers 1 for an id it does not hold, hence the look first.
      if (!(await queue.getJob(jobId))) return false;
      return (await queue.remove(jobId)) === 1;
    },
    async stop() {
      if (worker) await worker.close();
      worker = null;
      await queue.close();
      for (const c of [workerConnection, connection]) await c?.quit().catch(() => c.disconnect());
      workerConnection = null;
    },
    async ping() {
      await connection.ping();
    },
  };
}

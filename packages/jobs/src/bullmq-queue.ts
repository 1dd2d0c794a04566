import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { z } from 'zod';
import { AppError, redisKeyPrefix, type Logger } from '@quire/server-kit';
import { isUnrecoverable, type JobDefinition, type JobHandler, type JobQueue, type RetryPolicy } from './job-queue.js';
import { createFairRanks } from './redis-fair-ranks.js';
import { closeRedisClient, redisErrorLog, settlesWithin, withDeadline } from './redis-health.js';

export interface BullmqQueueOptions {
  redisUrl: string;
  queueName: string;
  /**
   * This deployment's namespace in a shared Redis database (QUIRE_REDIS_PREFIX). BullMQ's key prefix is
   * `bull` without one (the keys of earlier versions, `bull:<queue>:*`) and `<namespace>:bull` with one,
   * so the queue's keys, its fairness sets among them (they hang off `queue.toKey`), move together.
   */
  redisNamespace?: string;
  concurrency: number;
  retry: RetryPolicy;
  logger: Logger;
  /**
   * How long stop() waits for running jobs before it closes the worker by force (default 5 s). A job
   * cut off is not lost: its lock lapses and a worker runs it again.
   */
  stopTimeoutMs?: number;
  /** How long enqueue() and discard() wait for Redis before they fail (default 5 s). */
  commandTimeoutMs?: number;
  /** How long ping() waits for Redis (default 1 s): readiness probes give up soon. */
  pingTimeoutMs?: number;
}

/** Bound of each forced step of stop() (closing by force, QUIT): they wait on nothing but sockets. */
const FORCED_STEP_MS = 1_000;
/** States in which ioredis refuses a command at once (no offline queue): Redis was lost, or the client closed. */
const LOST = new Set(['reconnecting', 'close', 'end']);

/**
 * BullMQ's key prefix under a deployment's namespace (QUIRE_REDIS_PREFIX): `bull`, BullMQ's default,
 * without one; `<namespace>:bull` with one. A namespace holds no braces (redisPrefixSchema), so a queue
 * name's hash tag (`{ingest}`) still decides the Redis Cluster slot of the queue's keys.
 */
export function bullmqKeyPrefix(redisNamespace: string | undefined): string {
  return redisKeyPrefix(redisNamespace, 'bull');
}

/** A promise that only ever rejects, when `reject` is called; unobserved until a job races it. */
function abandonment(): { promise: Promise<never>; reject: (reason: Error) => void } {
  let reject!: (reason: Error) => void;
  const promise = new Promise<never>((_resolve, r) => (reject = r));
  promise.catch(() => undefined);
  return { promise, reject };
}

/**
 * The distributed runner. BullMQ is at-least-once (a stalled job runs again), which the handler
 * tolerates through the document version check. Finished jobs are removed from Redis: Postgres is
 * the record of outcomes, and a removed id can be enqueued again by the reconciler if the final
 * database write was lost.
 *
 * With a fairness key, a job's priority is its rank among its key's jobs in the queue (redis-fair-ranks.ts):
 * BullMQ serves lower priorities first, so keys take turns (BullMQ's own groups are not open source).
 */
export function createBullmqQueue<S extends z.ZodType>(definition: JobDefinition<S>, options: BullmqQueueOptions): JobQueue<z.infer<S>> {
  type P = z.infer<S>;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const commandTimeoutMs = options.commandTimeoutMs ?? 5_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 1_000;
  const logger = options.logger;
  // The producer side (enqueue, discard, readiness) fails fast while Redis is down: an upload must not
  // hang on it (its document is committed already and the reconciler enqueues it later).
  const producer = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, disconnectTimeout: 200 });
  const producerErrors = redisErrorLog(logger, 'job queue redis connection error', { queue: options.queueName, connection: 'producer' });
  producerErrors.watch(producer);
  // Only the worker blocks on Redis, and BullMQ requires maxRetriesPerRequest: null there. BullMQ runs
  // the worker on copies of this connection; BullMQ leaves caller-owned clients open, so stop() closes it.
  let workerConnection: Redis | null = null;
  const workerErrors = redisErrorLog(logger, 'queue worker error', { queue: options.queueName, connection: 'worker' });
  // The worker must name the same prefix, or it would wait on another queue's keys.
  const prefix = bullmqKeyPrefix(options.redisNamespace);
  const queue = new Queue(options.queueName, {
    connection: producer,
    prefix,
    defaultJobOptions: {
      attempts: options.retry.attempts,
      backoff: { type: 'exponential', delay: options.retry.baseDelayMs },
      removeOnComplete: true,
      removeOnFail: true,
    },
  });
  // The queue re-emits its connection's errors: the same outage, so the same rate limit.
  queue.on('error', producerErrors);
  const ranks = createFairRanks(producer, queue.toKey(''));
  let worker: Worker | null = null;
  // Rejects the jobs a forced stop gives up on, so that BullMQ's close (which waits for them) can end.
  let abandon = abandonment();

  const unavailable = (what: string, cause?: unknown) =>
    new AppError('service_unavailable', `The job queue (Redis) did not answer: ${what}.`, { ...(cause !== undefined ? { cause } : {}) });
  /**
   * Waits for a connection being made (the first one after start), but refuses at once while Redis is
   * lost: ioredis is between reconnect attempts, or an attempt fails.
   */
  const connected = (what: string, ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (producer.status === 'ready') return resolve();
      if (LOST.has(producer.status)) return reject(unavailable(`${what} (connection ${producer.status})`));
      const settle = (error?: AppError) => {
        clearTimeout(timer);
        producer.off('ready', onReady);
        producer.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => settle();
      const onClose = () => settle(unavailable(`${what} (connection lost)`));
      const timer = setTimeout(() => settle(unavailable(`${what} (not connected within ${ms} ms)`)), ms);
      producer.once('ready', onReady);
      producer.once('close', onClose);
    });
  /** Bounded: a Redis that accepts connections but never answers must not hold the caller either. */
  const call = async <T>(what: string, work: () => Promise<T>, ms = commandTimeoutMs): Promise<T> => {
    await connected(what, ms);
    try {
      return await withDeadline(work(), ms, () => unavailable(`${what} (no answer within ${ms} ms)`));
    } catch (error) {
      throw AppError.is(error) ? error : unavailable(what, error);
    }
  };

  /** Lets running jobs finish up to the deadline; a worker that cannot (or, with Redis gone, could not report back) is cut loose. */
  const closeWorker = async (w: Worker): Promise<void> => {
    const fields = { queue: options.queueName };
    if (producer.status !== 'ready') {
      logger.warn('Redis is not reachable: closing the queue worker without waiting for running jobs', fields);
      if (!(await settlesWithin(w.close(true), FORCED_STEP_MS))) logger.warn('the queue worker did not close; leaving it', fields);
      return;
    }
    // An idle worker closes at once: BullMQ's close() first disconnects its own blocking connection (a
    // BZPOPMIN of up to drainDelay, 5 s), and running jobs report back on the other one. Held to that
    // by bullmq-queue-stop.test.ts.
    const closing = w.close();
    if (await settlesWithin(closing, stopTimeoutMs)) return;
    // close(true) now would only return the close in progress. Disconnected first, so that BullMQ cannot
    // record the abandoned jobs as failed: their locks lapse and another worker runs them again.
    logger.warn('running jobs did not finish in time: disconnecting the queue worker; their locks lapse and they run again', { ...fields, stop_timeout_ms: stopTimeoutMs });
    await settlesWithin(w.disconnect(), FORCED_STEP_MS);
    abandon.reject(new Error('abandoned: the queue stopped before the job finished'));
    if (!(await settlesWithin(closing, FORCED_STEP_MS))) logger.warn('the queue worker did not close; leaving it', fields);
  };

  /** Best effort: a release lost here is a leak, which a later admission of the key finds and drops. */
  const release = async (fairness: unknown, jobId: string | undefined) => {
    if (typeof fairness !== 'string' || !jobId) return;
    await call('release a fairness rank', () => ranks.release(fairness, jobId)).catch((error: unknown) =>
      logger.warn('could not release a job\'s fairness rank; a later enqueue drops it', { queue: options.queueName, job_id: jobId, err: String(error) }),
    );
  };

  return {
    async enqueue(payload) {
      const valid = definition.payloadSchema.parse(payload) as P;
      const jobId = definition.jobId(valid);
      const fairness = definition.fairnessKey?.(valid);
      // A duplicate enqueue is absorbed by BullMQ, priority and all, and is counted once (ranks are sets).
      const priority = fairness === undefined ? undefined : await call('enqueue', () => ranks.admit(fairness, jobId));
      const data = { v: definition.version, payload: valid, ...(fairness === undefined ? {} : { fairness }) };
      await call('enqueue', () => queue.add(definition.name, data, { jobId, ...(priority === undefined ? {} : { priority }) }));
      return { jobId };
    },
    async start(handler: JobHandler<P>) {
      abandon = abandonment();
      workerConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null, disconnectTimeout: 200 });
      workerErrors.watch(workerConnection);
      worker = new Worker(
        options.queueName,
        async (job) => {
          const data = job.data as { v?: unknown; payload?: unknown; fairness?: unknown };
          const parsed = definition.payloadSchema.safeParse(data?.payload);
          if (data?.v !== definition.version || !parsed.success) {
            logger.error('dropping job with an invalid payload', { job: definition.name, job_id: job.id });
            await release(data?.fairness, job.id);
            throw new UnrecoverableError('invalid job payload');
          }
          const maxAttempts = job.opts.attempts ?? options.retry.attempts;
          let settled = false;
          const running = handler(parsed.data, { jobId: job.id ?? definition.jobId(parsed.data), attempt: job.attemptsMade + 1, maxAttempts }).finally(() => {
            settled = true;
          });
          // An abandoned job's handler goes on unobserved (its document version fence guards its writes).
          running.catch(() => undefined);
          // Released before BullMQ removes the job: a crash in between runs the job again, one rank short
          // meanwhile, rather than leaving a rank that outlives it.
          try {
            await Promise.race([running, abandon.promise]);
          } catch (error) {
            // A job the stop cut off stays in the queue (its lock lapses); a retried one waits in it.
            if (settled && (isUnrecoverable(error) || job.attemptsMade + 1 >= maxAttempts)) await release(data.fairness, job.id);
            throw error;
          }
          await release(data.fairness, job.id);
        },
        { connection: workerConnection, prefix, concurrency: options.concurrency, autorun: true },
      );
      // The worker's own copies of the connection report through it.
      worker.on('error', workerErrors);
    },
    async discard(jobId) {
      // BullMQ's remove refuses (0) a job a worker holds the lock of, so a running job stays; it also
      // answers 1 for an id it does not hold, hence the look first.
      const job = await call('discard', () => queue.getJob(jobId));
      if (!job) return false;
      if ((await call('discard', () => queue.remove(jobId))) !== 1) return false;
      await release((job.data as { fairness?: unknown } | undefined)?.fairness, jobId);
      return true;
    },
    async stop() {
      const w = worker;
      worker = null;
      if (w) await closeWorker(w);
      // The queue leaves the producer (ours) open; its close waits on nothing else.
      if (!(await settlesWithin(queue.close(), FORCED_STEP_MS))) logger.warn('the job queue did not close; disconnecting it', { queue: options.queueName });
      await Promise.all([workerConnection, producer].flatMap((c) => (c ? [closeRedisClient(c, FORCED_STEP_MS)] : [])));
      workerConnection = null;
    },
    async ping() {
      await call('ping', () => producer.ping(), pingTimeoutMs);
    },
  };
}

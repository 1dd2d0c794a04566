import { UnrecoverableError } from 'bullmq';
import type { z } from 'zod';

/** A typed job: the payload is validated when enqueued and again when a worker takes it. */
export interface JobDefinition<S extends z.ZodType> {
  readonly name: string;
  /** Bumped when the payload shape changes incompatibly. */
  readonly version: number;
  readonly payloadSchema: S;
  /** One id per logical job, so a duplicate enqueue is absorbed while the first is pending. */
  jobId(payload: z.infer<S>): string;
  /**
   * Whose job this is, for admission: waiting jobs are served in turns between keys (e.g. teams), so a
   * key's backlog does not make another key's first job wait behind all of it. Without it, first come
   * first served.
   */
  fairnessKey?(payload: z.infer<S>): string;
}

export interface JobContext {
  jobId: string;
  /** 1 for the first try. */
  attempt: number;
  maxAttempts: number;
}

export type JobHandler<P> = (payload: P, context: JobContext) => Promise<void>;

/** What both runners (BullMQ on Redis, in-process) offer; the service never knows which it has. */
export interface JobQueue<P> {
  enqueue(payload: P): Promise<{ jobId: string }>;
  start(handler: JobHandler<P>): Promise<void>;
  /**
   * Removes a job that has not started (waiting, or delayed before a retry) and says whether it did.
   * A running job is left alone: what makes it stop is its own check (the document version fence).
   */
  discard(jobId: string): Promise<boolean>;
  /** Stops taking jobs and waits for running ones to finish. */
  stop(): Promise<void>;
  /** Throws when the queue's backing store does not answer (readiness). */
  ping(): Promise<void>;
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

/** A handler throws BullMQ's UnrecoverableError for work that must not be retried (poison input). */
export function isUnrecoverable(error: unknown): boolean {
  return error instanceof UnrecoverableError || (error as Error | undefined)?.name === 'UnrecoverableError';
}

export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return policy.baseDelayMs * 2 ** Math.max(0, attempt - 1);
}

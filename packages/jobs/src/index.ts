export * from './job-queue.js';
export { bullmqKeyPrefix, createBullmqQueue } from './bullmq-queue.js';
export { createInProcessQueue } from './in-process-queue.js';
export type { AbortableSemaphore, CountingSemaphore } from './counting-semaphore.js';
export { createRedisSemaphores, redisSemaphoresKeyPrefix, type RedisSemaphores } from './redis-semaphores.js';

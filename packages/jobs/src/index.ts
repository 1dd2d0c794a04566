export * from './job-queue.js';
export { createBullmqQueue } from './bullmq-queue.js';
export { createInProcessQueue } from './in-process-queue.js';
export type { AbortableSemaphore, CountingSemaphore } from './counting-semaphore.js';
export { createRedisSemaphores, type RedisSemaphores } from './redis-semaphores.js';

export * from './job-queue.js';
export { createBullmqQueue } from './bullmq-queue.js';
export { createInProcessQueue } from './in-process-queue.js';

import { startDistributedHarness } from './distributed-harness.js';
import { walkingSkeletonSuite } from './walking-skeleton.js';

// docker-compose's shape, which only a PostgreSQL server allows (PGlite is one process per data folder).
walkingSkeletonSuite('walking skeleton across three processes (PostgreSQL + pgvector, Redis)', () => startDistributedHarness());

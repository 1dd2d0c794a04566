import { startHarness } from './quire-harness.js';
import { walkingSkeletonSuite } from './walking-skeleton.js';

walkingSkeletonSuite('walking skeleton on BullMQ (real Redis)', () => startHarness({ redis: true }));

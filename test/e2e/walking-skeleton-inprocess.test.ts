import { startHarness } from './quire-harness.js';
import { walkingSkeletonSuite } from './walking-skeleton.js';

walkingSkeletonSuite('walking skeleton on the in-process job runner', () => startHarness({ redis: false }));

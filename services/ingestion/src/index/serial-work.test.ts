import { createSerialWork } from './serial-work.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('runs ids one at a time in arrival order; an id queued again while it waits runs once', async () => {
  const ran: string[] = [];
  const first = gate();
  const work = createSerialWork({
    run: async (id) => {
      ran.push(id);
      if (id === 'a') await first.opened;
    },
    failed: () => undefined,
  });
  work.add('a');
  work.add('b');
  work.add('c');
  work.add('b');
  expect(work.waiting).toBe(2);
  first.open();
  await work.idle();
  expect(ran).toEqual(['a', 'b', 'c']);
});

test('a failing run goes to `failed` and the loop goes on, even when `failed` itself throws', async () => {
  const failures: string[] = [];
  const ran: string[] = [];
  const work = createSerialWork({
    run: async (id) => {
      ran.push(id);
      if (id === 'bad') throw new Error('boom');
    },
    failed: (id) => {
      failures.push(id);
      throw new Error('the handler broke too');
    },
    drained: () => Promise.reject(new Error('and so did drained')),
  });
  work.add('bad');
  work.add('good');
  await work.idle();
  expect(ran).toEqual(['bad', 'good']);
  expect(failures).toEqual(['bad']);
  await expect(work.stop()).resolves.toBeUndefined();
});

test('stop drops what waits, waits for the run in progress, and a resume meanwhile waits for that run to end', async () => {
  const ran: string[] = [];
  const inFlight = gate();
  const work = createSerialWork({
    run: async (id) => {
      ran.push(id);
      if (id === 'slow') await inFlight.opened;
    },
    failed: () => undefined,
  });
  work.add('slow');
  work.add('dropped');
  await tick();
  const stopped = work.stop();
  expect(work.stopped).toBe(true);
  work.add('refused while stopped');
  let resumed = false;
  const resuming = work.resume().then(() => (resumed = true));
  await tick();
  // The run in progress has not ended: the loop must stay stopped, or it would go on behind stop's back.
  expect(resumed).toBe(false);
  expect(work.stopped).toBe(true);
  inFlight.open();
  await stopped;
  await resuming;
  expect(work.stopped).toBe(false);
  work.add('after');
  await work.idle();
  expect(ran).toEqual(['slow', 'after']);
});

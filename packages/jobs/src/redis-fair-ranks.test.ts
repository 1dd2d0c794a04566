import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { freePort } from '@quire/fakes';
import { bullmqKeyPrefix } from './bullmq-queue.js';
import { createFairRanks, fairAdmitArgs } from './redis-fair-ranks.js';

/**
 * Redis Cluster rules for the fairness scripts: a script touches only the keys it declares in KEYS,
 * and the keys of one call (the script's, and every other command's) share one hash slot, that of
 * the queue's own keys. Checked three ways: the key lists the code builds, every command the scripts
 * run on a real Redis (MONITOR shows them), and a real three-node Redis Cluster started for the test.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** BullMQ's prefix on Cluster carries a hash tag, so that a queue's keys share one slot. */
const PREFIX = '{quire-fair-test}';

/** CRC16/XMODEM, which Redis Cluster hashes keys with. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** A key's Cluster slot: of its hash tag (the first `{...}`, when not empty), else of the whole key. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  return crc16(Buffer.from(hashed)) % 16_384;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe('the key lists the code passes', () => {
  test('slots are computed as Redis Cluster does (values from CLUSTER KEYSLOT)', () => {
    expect(keySlot('123456789')).toBe(12_739);
    expect(keySlot('a')).toBe(15_495);
    expect(keySlot('b')).toBe(3_300);
    expect(keySlot('{a}x')).toBe(15_495);
    expect(keySlot('x{}{a}')).not.toBe(keySlot('a'));
  });

  test.each([
    ['a hash-tagged prefix', `${PREFIX}:ingest:`],
    ['a hash-tagged queue name', 'bull:{ingest}:'],
    // QUIRE_REDIS_PREFIX goes before BullMQ's prefix (bullmqKeyPrefix) and holds no braces: the tag still decides the slot.
    ['a hash-tagged queue name under a deployment namespace', `${bullmqKeyPrefix('acme-prod')}:{ingest}:`],
  ])('an admission declares its set and every job key it checks, all in the slot of the queue\'s keys (%s)', (_what, jobKeyPrefix) => {
    const candidates = ['doc-1-v1', 'doc-{2}-v1', 'x:y:z'];
    const [numKeys, ...rest] = fairAdmitArgs(jobKeyPrefix, 'team-{7}', 'doc-9-v1', candidates);
    const keys = rest.slice(0, Number(numKeys)).map(String);
    const argv = rest.slice(Number(numKeys)).map(String);
    // The set first, then each member's job key; the members themselves follow in ARGV, in that order.
    expect(keys).toHaveLength(1 + candidates.length);
    expect(keys.slice(1)).toEqual(candidates.map((member) => `${jobKeyPrefix}${member}`));
    expect(argv.slice(-candidates.length)).toEqual(candidates);
    expect(argv[0]).toBe('doc-9-v1');
    const queueSlot = keySlot(`${jobKeyPrefix}wait`);
    for (const key of keys) expect(keySlot(key)).toBe(queueSlot);
  });

  test('with nothing to check, the set is the only key', () => {
    const [numKeys, key] = fairAdmitArgs('bull:q:', 'a', 'j', []);
    expect(numKeys).toBe(1);
    expect(key).toBe('bull:q:quire-fair:a');
  });
});

interface Seen {
  source: string;
  args: string[];
}

/** The arguments of a MONITOR line: quoted strings with the escapes Redis writes (sdscatrepr). */
function parseMonitorArgs(text: string): string[] {
  const args: string[] = [];
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' };
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '"') continue;
    let arg = '';
    for (i++; i < text.length && text[i] !== '"'; i++) {
      if (text[i] !== '\\') arg += text[i];
      else if (text[++i] === 'x') {
        arg += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else arg += escapes[text[i]!] ?? text[i];
    }
    args.push(arg);
  }
  return args;
}

/**
 * Every command the server runs, as MONITOR reports it: the client's address as its source, or `lua`
 * for what a script runs (listed right after the script's call). A plain socket, not ioredis's
 * monitor, which can take the first lines for replies when the server is busy.
 */
async function startMonitor(url: string): Promise<{ seen: Seen[]; stop(): void }> {
  const { hostname, port, username, password } = new URL(url);
  const socket = net.connect(Number(port || 6379), hostname);
  const seen: Seen[] = [];
  let buffered = '';
  let watching = true;
  // One OK for AUTH where there is a password, then one for MONITOR.
  let oks = password ? 2 : 1;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      const lines = buffered.split('\r\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('-')) reject(new Error(`MONITOR refused: ${line}`));
        if (line === '+OK' && --oks === 0) resolve();
        const parsed = /^\+\S+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
        if (parsed && watching) seen.push({ source: parsed[1]!, args: parseMonitorArgs(parsed[2]!) });
      }
    });
    if (password) socket.write(`AUTH ${username ? `${decodeURIComponent(username)} ` : ''}${decodeURIComponent(password)}\r\n`);
    socket.write('MONITOR\r\n');
  });
  return {
    seen,
    stop() {
      watching = false;
      socket.destroy();
    },
  };
}

/** The keys a command names, as Redis itself finds them. */
async function keysOf(redis: Redis, args: string[]): Promise<string[]> {
  const [info] = (await redis.call('COMMAND', 'INFO', args[0]!)) as [unknown[] | null];
  if (!info) throw new Error(`unknown command ${args[0]}`);
  if (info[3] === 0) return [];
  return ((await redis.call('COMMAND', 'GETKEYS', ...args)) as Buffer[] | string[]).map(String);
}

describe('on a real Redis, every command the scripts run', () => {
  test('touches only keys the script declared, all in the slot of the queue\'s keys; and leaks are still dropped', async () => {
    const setup = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    cleanups.push(() => Promise.all([setup.quit(), client.quit()]));
    const queueName = `fair-ranks-test-${randomUUID()}`;
    const queue = new Queue(queueName, { connection: setup, prefix: PREFIX });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
      const keys = await setup.keys(queue.toKey('quire-fair:*'));
      if (keys.length > 0) await setup.del(...keys);
    });

    const monitor = await startMonitor(REDIS_URL);
    cleanups.push(async () => monitor.stop());
    const seen = monitor.seen;
    /** Waits until the monitor has seen everything sent so far (a marker the client sends last). */
    const flushed = async () => {
      const marker = `fair-ranks-marker-${randomUUID()}`;
      await client.echo(marker);
      for (const deadline = Date.now() + 5_000; !seen.some((s) => s.args.includes(marker)); ) {
        if (Date.now() > deadline) throw new Error('the monitor did not see the marker');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };

    /** The client's address, as MONITOR names what it sent. */
    const { addr } = Object.fromEntries(
      String(await client.client('INFO'))
        .trim()
        .split(' ')
        .map((field) => field.split('=') as [string, string]),
    ) as { addr: string };
    const ranks = createFairRanks(client, queue.toKey(''));
    await queue.add('work', {}, { jobId: 'job-live' });
    expect(await ranks.admit('a', 'job-live')).toBe(1);
    await flushed();
    // The set the script keeps (its first key), found by watching rather than by knowing its name.
    const firstScript = seen.find((s) => s.source === addr && /^eval(sha)?$/i.test(s.args[0]!));
    expect(firstScript).toBeDefined();
    const members = firstScript!.args[3]!;
    // Admitted long ago: job-live is still in the queue, job-ghost's job is gone (a lost release).
    await setup.zadd(members, 0, 'job-live', 0, 'job-ghost');

    expect(await ranks.admit('a', 'job-next')).toBe(2);
    expect(await setup.zrange(members, '0', '-1')).toEqual(['job-live', 'job-next']);
    // A duplicate enqueue counts once; a second release changes nothing.
    expect(await ranks.admit('a', 'job-next')).toBe(2);
    await ranks.release('a', 'job-next');
    await ranks.release('a', 'job-next');
    expect(await setup.zrange(members, '0', '-1')).toEqual(['job-live']);
    expect(await ranks.admit('b', 'job-other')).toBe(1);
    await flushed();

    monitor.stop();
    const log = seen.slice();
    const queueSlot = keySlot(queue.toKey('wait'));
    /** Script calls of the client that ran (a NOSCRIPT answer, which ioredis follows with EVAL, runs nothing). */
    let ran = 0;
    let checkedGhost = false;
    /** The script call the commands run by `lua` since belong to: MONITOR lists a call, then what it ran. */
    let declared: Set<string> | null = null;
    let previous = '';
    for (const { source, args } of log) {
      const after = previous;
      previous = source;
      if (source === 'lua') {
        if (declared === null) continue; // another client's script (BullMQ's own)
        if (after !== 'lua') ran++;
        for (const key of await keysOf(setup, args)) {
          expect({ command: args, key, declared: declared.has(key) }).toEqual({ command: args, key, declared: true });
          if (args[0]!.toUpperCase() === 'EXISTS' && key === queue.toKey('job-ghost')) checkedGhost = true;
        }
        continue;
      }
      declared = null;
      if (source !== addr || args.includes('INFO') || args[0]!.toUpperCase() === 'ECHO') continue;
      const name = args[0]!.toLowerCase();
      const keys = name === 'eval' || name === 'evalsha' ? args.slice(3, 3 + Number(args[2])) : await keysOf(setup, args);
      if (name === 'eval' || name === 'evalsha') declared = new Set(keys);
      // Each call, script or not, stays in the one slot of the queue's keys.
      for (const key of keys) expect({ command: args, key, slot: keySlot(key) }).toEqual({ command: args, key, slot: queueSlot });
    }
    // Four admissions, each seen running (were MONITOR to list a script's commands before its call,
    // none would be, and this would fail rather than pass unchecked).
    expect(ran).toBe(4);
    expect(checkedGhost).toBe(true);
  });
});

async function until(what: string, done: () => Promise<boolean>, ms = 15_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await done().catch(() => false)); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A real Redis Cluster of three masters, started from the redis-server binary the test suite uses
 * (scripts/test.sh), each holding a third of the slots. Undeclared access to a key another node holds
 * fails there ("non local key"), as does a call whose declared keys span slots (CROSSSLOT).
 */
async function startCluster(): Promise<{ nodes: { host: string; port: number }[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'quire-redis-cluster-'));
  const children: ChildProcess[] = [];
  const admins: Redis[] = [];
  cleanups.push(async () => {
    await Promise.all(admins.map((a) => a.quit().catch(() => a.disconnect())));
    await Promise.all(
      children.map((child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill())))),
    );
    rmSync(dir, { recursive: true, force: true });
  });
  const nodes: { port: number; busPort: number }[] = [];
  for (let i = 0; i < 3; i++) nodes.push({ port: await freePort(), busPort: await freePort() });
  for (const { port, busPort } of nodes) {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir, '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    children.push(child);
    admins.push(new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 }));
  }
  await Promise.all(admins.map((a) => until('a cluster node answers', async () => (await a.ping()) === 'PONG')));
  const thirds = [0, 5_461, 10_923, 16_384];
  await Promise.all(admins.map((a, i) => a.call('CLUSTER', 'ADDSLOTSRANGE', thirds[i]!, thirds[i + 1]! - 1)));
  for (const { port, busPort } of nodes.slice(1)) await admins[0]!.call('CLUSTER', 'MEET', '127.0.0.1', port, busPort);
  await until('the cluster is formed', async () => {
    for (const a of admins) {
      if (!String(await a.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
      if (((await a.call('CLUSTER', 'SLOTS')) as unknown[]).length !== 3) return false;
    }
    return true;
  });
  return { nodes: nodes.map(({ port }) => ({ host: '127.0.0.1', port })) };
}

/** A key whose slot another node of the cluster serves than the one serving `key`'s. */
async function keyOnAnotherNode(cluster: Cluster, key: string): Promise<string> {
  const nodeOf = async (k: string) => {
    const slot = keySlot(k);
    const ranges = (await cluster.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
  };
  const home = await nodeOf(key);
  for (let i = 0; ; i++) if ((await nodeOf(`elsewhere-${i}`)) !== home) return `elsewhere-${i}`;
}

/** The node holding a queue's fairness set of `team`, and the set's key. */
async function fairnessSet(cluster: Cluster, queueName: string, team: string): Promise<[Redis, string]> {
  for (const node of cluster.nodes('master')) {
    const key = (await node.keys('*fair*')).find((k) => k.includes(queueName) && k.endsWith(`:${team}`));
    if (key) return [node, key];
  }
  throw new Error(`no fairness set of ${team}`);
}

/** The cluster is set up with Redis 7 commands (CLUSTER ADDSLOTSRANGE, a bus port of its own). */
const redisServerVersion = /v=(\d+)\./.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '');
const haveRedisServer = redisServerVersion !== null && Number(redisServerVersion[1]) >= 7;
if (!haveRedisServer) console.warn('no redis-server 7 or later is installed: the Redis Cluster test is skipped');

(haveRedisServer ? describe : describe.skip)('on a real Redis Cluster', () => {
  test('ranks are counted, released and swept of leaks on a three-node cluster', async () => {
    const { nodes } = await startCluster();
    const cluster = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    cleanups.push(() => cluster.quit());
    const queueName = `fair-ranks-test-${randomUUID()}`;
    const queue = new Queue(queueName, { connection: cluster, prefix: PREFIX });
    cleanups.push(() => queue.close());
    const ranks = createFairRanks(cluster, queue.toKey(''));

    // The cluster enforces what it should: a script may not touch a key another node holds.
    const elsewhere = await keyOnAnotherNode(cluster, queue.toKey('wait'));
    await expect(cluster.eval("return redis.call('EXISTS', ARGV[1])", 1, queue.toKey('wait'), elsewhere)).rejects.toThrow(/non local key|same slot/i);

    await queue.add('work', {}, { jobId: 'job-live' });
    // Several teams, so that whatever their sets' names, they would not all happen to sit on the node
    // that holds the queue's keys unless the names put them there.
    const teams = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for (const team of teams) {
      expect(await ranks.admit(team, 'job-live')).toBe(1);
      // Admitted long ago: job-live is still in the queue, job-ghost's job is gone (a lost release).
      // The set is found by looking (on whichever node holds it), not by knowing its name.
      const [node, members] = await fairnessSet(cluster, queueName, team);
      await node.zadd(members, 0, 'job-live', 0, 'job-ghost');
      expect(await ranks.admit(team, 'job-next')).toBe(2);
      expect(await node.zrange(members, '0', '-1')).toEqual(['job-live', 'job-next']);
    }
    const [node, members] = await fairnessSet(cluster, queueName, 'a');
    expect(await ranks.admit('a', 'job-next')).toBe(2);
    await ranks.release('a', 'job-next');
    await ranks.release('a', 'job-next');
    expect(await node.zrange(members, '0', '-1')).toEqual(['job-live']);
    expect(await ranks.admit('z', 'job-other')).toBe(1);
  });
});

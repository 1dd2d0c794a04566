import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '@quire/server-kit';
import type { RowValues } from './ledger-sql.js';

/** A segment is rotated once it holds this much; it is deleted when all its rows are committed. */
const SEGMENT_BYTES = 8 * 1024 * 1024;
/** A live segment whose rows are all committed is emptied once it is this big (replaying committed rows is harmless). */
const TRUNCATE_BYTES = 1024 * 1024;
const SUFFIX = '.jsonl';

/** One journal file and how many of its rows are not yet committed to the database. */
export class Segment {
  uncommitted = 0;
  bytes = 0;
  sealed = false;
  dirty = false;
  /** A write failed part-way: the file may end in a torn line, so the next row starts on a line of its own. */
  torn = false;
  constructor(
    readonly file: string,
    readonly fd: number,
  ) {}
}

export interface ReplayFile {
  file: string;
  rows: RowValues[];
}

/**
 * The ledger's write-ahead journal: one JSON line per row, appended with a synchronous write to a
 * file opened in append mode before the response is sent. A write that returned is in the kernel's
 * page cache, so it survives the process being killed (kill -9, OOM, crash); it is fsynced on an
 * interval, so a power loss or kernel crash can lose the rows of the last `fsyncIntervalMs`.
 *
 * The directory belongs to one gateway process (like PGlite's data folder): on start every file
 * left there by an earlier process is replayed into the database and deleted after the commit.
 */
export class LedgerJournal {
  private current: Segment;
  private readonly segments = new Set<Segment>();
  private readonly fsyncTimer: NodeJS.Timeout;
  private syncing = false;
  private seq = 0;
  private readonly prefix: string;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    fsyncIntervalMs: number,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.prefix = `${os.hostname().replace(/[^\w.-]/g, '_')}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.current = this.open();
    this.fsyncTimer = setInterval(() => this.sync(), fsyncIntervalMs);
    this.fsyncTimer.unref();
  }

  /** Files left by earlier processes (read before this process wrote anything, so never our own). */
  static readLeftovers(dir: string, logger: Logger): ReplayFile[] {
    if (!fs.existsSync(dir)) return [];
    const out: ReplayFile[] = [];
    for (const name of fs.readdirSync(dir).sort()) {
      if (!name.endsWith(SUFFIX)) continue;
      const file = path.join(dir, name);
      const rows: RowValues[] = [];
      let torn = 0;
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (line === '') continue;
        try {
          const parsed = JSON.parse(line) as { v?: number; r?: unknown };
          if (parsed.v === 1 && Array.isArray(parsed.r)) rows.push(parsed.r);
          else torn++;
        } catch {
          // A line cut short by a power loss: it was never fsynced, so its response may not have been either.
          torn++;
        }
      }
      if (torn > 0) logger.warn('ledger journal: unreadable lines skipped', { file, lines: torn });
      out.push({ file, rows });
    }
    return out;
  }

  static remove(file: string): void {
    fs.rmSync(file, { force: true });
  }

  /**
   * Sets rows the database refuses aside in `quarantine/` beside the journal, in the journal's own
   * format (so a fixed file moved back is replayed like any other); returns the file's path.
   */
  static quarantine(file: string, rows: RowValues[]): string {
    const dir = path.join(path.dirname(file), 'quarantine');
    fs.mkdirSync(dir, { recursive: true });
    const target = path.join(dir, path.basename(file));
    fs.appendFileSync(target, rows.map((row) => `{"v":1,"r":${JSON.stringify(row)}}\n`).join(''));
    return target;
  }

  private open(): Segment {
    const file = path.join(this.dir, `${this.prefix}-${String(this.seq++).padStart(6, '0')}${SUFFIX}`);
    const segment = new Segment(file, fs.openSync(file, 'a'));
    this.segments.add(segment);
    return segment;
  }

  /**
   * Appends one row; returns the segment that holds it (to settle once the row is committed). Throws
   * when the row is not wholly written (a full disk): the caller keeps that row some other way.
   */
  append(row: RowValues): Segment {
    if (this.current.bytes >= SEGMENT_BYTES) {
      this.current.sealed = true;
      this.current = this.open();
    }
    const segment = this.current;
    const line = `${segment.torn ? '\n' : ''}{"v":1,"r":${JSON.stringify(row)}}\n`;
    let written: number;
    try {
      written = fs.writeSync(segment.fd, line);
    } catch (error) {
      segment.torn = true;
      throw error;
    }
    segment.bytes += written;
    if (written < Buffer.byteLength(line)) {
      segment.torn = true;
      throw new Error(`ledger journal: short write to ${segment.file} (${written} of ${Buffer.byteLength(line)} bytes)`);
    }
    segment.torn = false;
    segment.uncommitted++;
    segment.dirty = true;
    return segment;
  }

  /** A row of `segment` is in the database (or given up on): the segment goes once none is left. */
  settle(segment: Segment): void {
    segment.uncommitted--;
    if (segment.uncommitted > 0) return;
    if (segment.sealed) {
      this.segments.delete(segment);
      fs.closeSync(segment.fd);
      LedgerJournal.remove(segment.file);
    } else if (segment.bytes >= TRUNCATE_BYTES) {
      // Everything in the live segment is committed: start it over rather than let it grow.
      fs.ftruncateSync(segment.fd, 0);
      segment.bytes = 0;
    }
  }

  /** Batched fsync, off the event loop (fdatasync runs in libuv's thread pool). */
  private sync(): void {
    if (this.syncing) return;
    const dirty = [...this.segments].filter((s) => s.dirty);
    if (dirty.length === 0) return;
    this.syncing = true;
    let left = dirty.length;
    for (const segment of dirty) {
      segment.dirty = false;
      fs.fdatasync(segment.fd, (error) => {
        if (error && (error as NodeJS.ErrnoException).code !== 'EBADF') this.logger.error('ledger journal fsync failed', { file: segment.file, err: String(error) });
        if (--left === 0) this.syncing = false;
      });
    }
  }

  /** Final fsync and close; files that still hold uncommitted rows stay for the next start's replay. */
  close(): void {
    clearInterval(this.fsyncTimer);
    for (const segment of this.segments) {
      try {
        fs.fdatasyncSync(segment.fd);
        fs.closeSync(segment.fd);
      } catch {
        // Already closed.
      }
      if (segment.uncommitted === 0) LedgerJournal.remove(segment.file);
    }
    this.segments.clear();
  }
}

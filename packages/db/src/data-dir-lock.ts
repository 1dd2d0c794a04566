import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** Another live process holds the data folder: opening it too would have two databases write one folder. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
  readonly code = 'data_dir_in_use';
  constructor(
    readonly lockFile: string,
    readonly holderPid: number,
  ) {
    super(
      `The data folder is in use by another Quire process (pid ${holderPid}; lock ${lockFile}). ` +
        'Stop that process, or give this one its own QUIRE_DATA_DIR. If no such process runs, delete the lock file.',
    );
  }
}

interface LockHolder {
  pid: number;
  host: string;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? { pid: parsed.pid, host: parsed.host } : undefined;
  } catch {
    return undefined;
  }
}

/** Lock files this process holds: a file naming this pid but not in here was left by an earlier process given the same pid. */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock on an embedded database's folder, held while it is open. PGlite, unlike a
 * Postgres server (postmaster.pid), does not refuse a second process on the same folder: two
 * `pnpm start` on one data folder both ran, each with its own view, writing the same files. The lock
 * file names its holder's pid; one whose holder is gone (killed, crashed) is taken over. It is made
 * whole with a hard link, so two starters can never both believe they hold it.
 */
export function lockDataDir(lockFile: string): { release(): void } {
  const me: LockHolder = { pid: process.pid, host: os.hostname() };
  const staged = `${lockFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(staged, JSON.stringify(me));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(staged, lockFile);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (attempt >= 3) throw new DataDirInUseError(lockFile, readHolder(lockFile)?.pid ?? -1);
      }
      const holder = readHolder(lockFile);
      // A lock from another host (a shared volume) cannot be checked from here: it is respected.
      const mine = holder?.pid === me.pid && holder.host === me.host;
      if (holder && (holder.host !== me.host || (mine ? held.has(lockFile) : alive(holder.pid)))) {
        throw new DataDirInUseError(lockFile, holder.pid);
      }
      // Stale (its holder is gone) or unreadable (a crash while it was written): moved aside, then
      // checked, so that a lock another starter took in between is put back rather than stolen.
      const aside = `${lockFile}.stale.${process.pid}`;
      try {
        renameSync(lockFile, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const moved = readHolder(aside);
      if (holder && moved && (moved.pid !== holder.pid || moved.host !== holder.host)) {
        try {
          linkSync(aside, lockFile);
        } catch (error) {
          // A third starter took the place meanwhile: it and the one put aside both think they hold it,
          // so this one, at least, stands down.
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        } finally {
          unlinkSync(aside);
        }
        throw new DataDirInUseError(lockFile, moved.pid);
      }
      unlinkSync(aside);
    }
  } finally {
    unlinkSync(staged);
  }
  held.add(lockFile);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.delete(lockFile);
    process.off('exit', release);
    const holder = readHolder(lockFile);
    if (holder?.pid === me.pid && holder.host === me.host) unlinkSync(lockFile);
  };
  // A process that exits without closing its database (an error at start-up, process.exit) lets go too.
  process.on('exit', release);
  return { release };
}

import type { Queryable } from '@quire/db';

/**
 * Runs `fn` while the audit log refuses rows whose action matches `like` (standing in for a full disk
 * or a lost connection at the audit write), so a test can show a change and its audit row commit
 * together or not at all.
 */
export async function auditRefusing(db: Queryable, like: string, fn: () => Promise<void>): Promise<void> {
  await db.query(`ALTER TABLE audit_log ADD CONSTRAINT refuse_some CHECK (action NOT LIKE '${like}') NOT VALID`);
  try {
    await fn();
  } finally {
    await db.query('ALTER TABLE audit_log DROP CONSTRAINT refuse_some');
  }
}

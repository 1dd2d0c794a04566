import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { openTestDatabase } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { startQuire } from '../../scripts/start-quire.js';
import { AUTH, E2E_ADMIN_KEY } from './quire-harness.js';

const logger = createLogger({ test: 'start-quire-limits' }, 'error');

describe('the all-in-one start reads QUIRE_INGEST_* limits', () => {
  it('refuses a bad value before opening anything', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'quire-limits-'));
    try {
      await expect(startQuire({ port: 0, logger, env: { QUIRE_DATA_DIR: dataDir, QUIRE_INGEST_MAX_PAGES: 'many' } })).rejects.toMatchObject({
        code: 'ingestion_config_invalid',
        message: 'Invalid ingestion configuration: QUIRE_INGEST_MAX_PAGES must be a positive integer (got "many")',
      });
      expect(await readdir(dataDir)).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('applies a limit set in the environment to uploads', async () => {
    const db = await openTestDatabase();
    const quire = await startQuire({
      db,
      port: 0,
      logger,
      queueName: `limits-${randomUUID()}`,
      env: { QUIRE_ADMIN_KEY: E2E_ADMIN_KEY, QUIRE_INGEST_MAX_FILES_PER_UPLOAD: '1' },
    });
    try {
      const created = await fetch(`${quire.url}/v1/collections`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...AUTH },
        body: JSON.stringify({ name: `Limits ${Date.now()}` }),
      });
      expect(created.status).toBe(201);
      const collection = (await created.json()) as { id: string };
      const upload = (names: string[]) => {
        const form = new FormData();
        for (const name of names) form.append('file', new Blob([`Notes in ${name}.`], { type: 'text/plain' }), name);
        return fetch(`${quire.url}/v1/collections/${collection.id}/documents`, { method: 'POST', headers: AUTH, body: form });
      };
      const two = await upload(['a.txt', 'b.txt']);
      expect(two.status).toBe(400);
      expect(((await two.json()) as { error: { message: string } }).error.message).toBe('At most 1 files per upload (QUIRE_INGEST_MAX_FILES_PER_UPLOAD).');
      expect((await upload(['a.txt'])).status).toBe(202);
    } finally {
      await quire.stop();
      await db.close();
    }
  });
});

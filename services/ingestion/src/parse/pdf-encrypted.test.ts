import { readFileSync } from 'node:fs';
import { classifyFailure } from '../jobs/classify-failure.js';
import { ParseError } from './extracted-text.js';
import { createParsePool } from './parse-pool.js';

const file = (name: string) => new Uint8Array(readFileSync(new URL(`../testing/office-files/${name}`, import.meta.url)));
const pool = createParsePool({ size: 1, timeoutMs: 30_000, maxHeapMb: 256, limits: { maxPages: 100, maxChars: 1e7, maxZipEntries: 100, maxUncompressedBytes: 1e8 } });
afterAll(() => pool.close());
const chunking = { strategy: 'recursive' as const, chunk_size: 1000, chunk_overlap: 0 };

describe('encrypted PDFs (qpdf-made)', () => {
  test('one that needs a password fails with password_protected and says what to do, across the worker boundary', async () => {
    const error = await pool.parseAndChunk(file('password.pdf'), 'application/pdf', chunking).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParseError);
    expect(error).toMatchObject({ code: 'password_protected', message: expect.stringMatching(/protected by a password.*without the password/) });
    expect(classifyFailure(error, 'parsing')).toEqual({ code: 'password_protected', reason: (error as Error).message, stage: 'parsing', retryable: false });
  });

  test('one with an owner password only (printing and copying restricted) is read like any PDF', async () => {
    const doc = await pool.parseAndChunk(file('restricted.pdf'), 'application/pdf', chunking);
    expect(doc.hasText).toBe(true);
    expect(doc.chunks.map((c) => c.text).join('\n')).toContain('Office Directory');
  });
});

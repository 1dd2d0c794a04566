import type { Chunking } from '@quire/contracts';
import { chunkText } from '../chunk/chunk-text.js';
import { classifyFailure } from '../jobs/classify-failure.js';
import { makeDocx } from '../testing/docx-fixtures.js';
import { GUIDE_MARKDOWN, makeEndlessPdf, makePdf, makeTwoColumnPdf } from '../testing/fixtures.js';
import { slowChunkingText } from '../testing/slow-chunking-text.js';
import { DOCX_MIME } from '../upload/detect-type.js';
import { ChunkingStoppedError } from './chunking-stopped-error.js';
import { ParseError } from './extracted-text.js';
import type { ParseSummary } from './parse-and-chunk.js';
import { DEFAULT_PARSE_LIMITS, parseDocument } from './parse-document.js';
import { createParsePool } from './parse-pool.js';
import { TooManyChunksError } from './too-many-chunks-error.js';

const limits = { maxPages: 100, maxChars: 1e7, maxZipEntries: 100, maxUncompressedBytes: 1e8 };
const utf8 = (text: string) => new TextEncoder().encode(text);
const prose = (paragraphs: number) =>
  Array.from({ length: paragraphs }, (_, i) => `Paragraph ${i} explains how the quarterly report treats item ${i % 7}, with figures and a caveat.`).join('\n\n');

const pool = createParsePool({ size: 2, timeoutMs: 30_000, chunkTimeoutMs: 30_000, maxHeapMb: 256, limits });
afterAll(() => pool.close());

describe('parse + chunk in the worker', () => {
  test('gives exactly the chunks of the chunker on the service thread, for each format and strategy', async () => {
    const docs: { name: string; bytes: Uint8Array; mime: string }[] = [
      { name: 'pdf', bytes: await makePdf([['First page about the report.', 'More on page one.'], [], ['Third page, after a blank one.', prose(3)]]), mime: 'application/pdf' },
      { name: 'two-column pdf', bytes: await makeTwoColumnPdf(['Left one.', 'Left two.', 'Left three.'], ['Right one.', 'Right two.', 'Right three.'], ['blank']), mime: 'application/pdf' },
      {
        name: 'docx',
        bytes: makeDocx([{ heading: 1, text: 'Handbook' }, { text: prose(4) }, { heading: 2, text: 'Leave' }, { table: [['Country', 'Days'], ['France', '30']] }]),
        mime: DOCX_MIME,
      },
      { name: 'html', bytes: utf8(`<html><body><main><h1>Policy</h1><p>${prose(5)}</p><h2>Hotels</h2><ul><li>Under 150 EUR</li></ul></main></body></html>`), mime: 'text/html' },
      { name: 'csv', bytes: utf8(['country,days,notes', ...Array.from({ length: 60 }, (_, i) => `C${i},${i},"note ${i}, with a comma"`)].join('\n')), mime: 'text/csv' },
      { name: 'markdown', bytes: utf8(GUIDE_MARKDOWN), mime: 'text/markdown' },
      { name: 'text', bytes: utf8(`${prose(40)}\n\n${prose(40)}`), mime: 'text/plain' },
    ];
    const strategies: Chunking[] = [
      { strategy: 'recursive', chunk_size: 120, chunk_overlap: 20 },
      { strategy: 'markdown', chunk_size: 200, chunk_overlap: 0 },
      { strategy: 'tokens', chunk_size: 40, chunk_overlap: 8 },
    ];
    for (const doc of docs) {
      const parsed = await parseDocument(doc.bytes, doc.mime, { ...DEFAULT_PARSE_LIMITS, ...limits });
      for (const chunking of strategies) {
        const direct = await chunkText(parsed, chunking);
        const summaries: ParseSummary[] = [];
        const viaWorker = await pool.parseAndChunk(doc.bytes, doc.mime, chunking, { onParsed: (s) => summaries.push(s) });
        expect({ doc: doc.name, ...chunking, chunks: viaWorker.chunks }).toEqual({ doc: doc.name, ...chunking, chunks: direct });
        expect(direct.length).toBeGreaterThan(0);
        const summary = { pagesTotal: parsed.pagesTotal, scannedPages: parsed.scannedPages, warnings: parsed.warnings, hasText: true };
        expect(viaWorker).toMatchObject(summary);
        expect(summaries).toEqual([summary]);
        expect(viaWorker).not.toHaveProperty('text');
      }
    }
  });

  test('a document without text is not chunked; one with too many chunks fails in the worker', async () => {
    const blank = await pool.parseAndChunk(await makePdf([[], []]), 'application/pdf', { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 });
    expect(blank).toMatchObject({ hasText: false, chunks: [], scannedPages: [], pagesTotal: 2 });
    const scans = await pool.parseAndChunk(await makeTwoColumnPdf([], [], ['scan', 'scan']), 'application/pdf', { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 });
    // The first page (no columns given) is blank: only the two image pages are scans.
    expect(scans).toMatchObject({ hasText: false, chunks: [], scannedPages: [2, 3], pagesTotal: 3 });
    const many = await pool.parseAndChunk(utf8(prose(50)), 'text/plain', { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 }, { maxChunks: 10 }).catch((e: unknown) => e);
    expect(many).toBeInstanceOf(TooManyChunksError);
    expect(many).toMatchObject({ limit: 10, message: expect.stringMatching(/^The document gives \d+ chunks; the limit is 10 \(QUIRE_INGEST_MAX_CHUNKS\)\.$/) });
    expect((many as TooManyChunksError).count).toBeGreaterThan(10);
  });

  test('a chunking over its budget is stopped, while the service thread keeps running; the pool carries on', async () => {
    const strict = createParsePool({ size: 1, timeoutMs: 30_000, chunkTimeoutMs: 1_000, maxHeapMb: 256, limits });
    try {
      // Chunked on this thread, this text takes several seconds (about 7 s on a 2-CPU machine).
      const bytes = utf8(slowChunkingText());
      await strict.parseAndChunk(utf8(prose(1)), 'text/plain', { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 }); // worker started
      // The main thread's timer keeps firing through the chunking: none of it runs on this thread.
      let parsedAt = 0;
      let ticks = 0;
      let last = performance.now();
      let worstGap = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        if (parsedAt > 0) {
          ticks++;
          worstGap = Math.max(worstGap, now - last);
        }
        last = now;
      }, 10);
      const error = await strict
        .parseAndChunk(bytes, 'text/plain', { strategy: 'tokens', chunk_size: 1000, chunk_overlap: 150 }, { onParsed: () => (parsedAt = performance.now()) })
        .catch((e: unknown) => e);
      const chunkingMs = performance.now() - parsedAt;
      clearInterval(timer);
      expect(error).toBeInstanceOf(ChunkingStoppedError);
      expect(error).toMatchObject({ code: 'chunk_timeout', message: 'Chunking took longer than 1 s (the limit, QUIRE_INGEST_CHUNK_TIMEOUT_MS) and was stopped.' });
      // Stopped at the chunking deadline, counted from the end of parsing.
      expect(parsedAt).toBeGreaterThan(0);
      expect(chunkingMs).toBeGreaterThanOrEqual(990);
      expect(chunkingMs).toBeLessThan(4_000);
      // Chunking on this thread would leave at most one tick and a gap as long as the whole window.
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(worstGap).toBeLessThan(900);

      // The killed worker was replaced: the next document goes through.
      const next = await strict.parseAndChunk(utf8(prose(3)), 'text/plain', { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 });
      expect(next.chunks.length).toBe(3);
    } finally {
      await strict.close();
    }
  }, 60_000);

  test('a parse over its budget is still a parse failure', async () => {
    const strict = createParsePool({ size: 1, timeoutMs: 500, chunkTimeoutMs: 30_000, maxHeapMb: 256, limits });
    try {
      const error = await strict.parseAndChunk(await makeEndlessPdf(), 'application/pdf', { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ParseError);
      expect((error as Error).message).toMatch(/^Parsing took longer than 0.5 s \(the limit, QUIRE_INGEST_PARSE_TIMEOUT_MS\)|memory limit \(QUIRE_INGEST_PARSE_HEAP_MB\)/);
    } finally {
      await strict.close();
    }
  });

  test('too much text keeps its code across the worker boundary, and is stored as too_much_text, not parse_failed', async () => {
    const strict = createParsePool({ size: 1, timeoutMs: 30_000, maxHeapMb: 256, limits: { ...limits, maxChars: 1000 } });
    try {
      const error = await strict.parseAndChunk(utf8(prose(20)), 'text/plain', { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ParseError);
      expect(error).toMatchObject({ code: 'too_much_text', message: expect.stringContaining('QUIRE_INGEST_MAX_EXTRACTED_CHARS') });
      expect(classifyFailure(error, 'parsing')).toMatchObject({ code: 'too_much_text', stage: 'parsing', retryable: false });
    } finally {
      await strict.close();
    }
  });
});

describe('fair sharing of the workers between tenants', () => {
  // Parsed in milliseconds, then chunked until the 1 s chunking deadline stops it: a stand-in for a
  // file that is cheap to upload and runs to its deadline. `onParsed` tells when its worker took it.
  const slow = utf8(slowChunkingText(3_000_000));
  const slowChunking: Chunking = { strategy: 'tokens', chunk_size: 1000, chunk_overlap: 150 };
  const quick = utf8('One line of another team.');
  const quickChunking: Chunking = { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 };
  const strictPool = (size: number) => createParsePool({ size, timeoutMs: 30_000, chunkTimeoutMs: 1_000, maxHeapMb: 256, limits });

  /** Starts the jobs in the order given and answers the order in which they settled, with how each ended. */
  async function settleOrder(pool: ReturnType<typeof strictPool>, jobs: { name: string; tenant: string; slow: boolean }[]) {
    const settled: string[] = [];
    const outcomes = new Map<string, unknown>();
    await Promise.all(
      jobs.map((job) =>
        pool
          .parseAndChunk(job.slow ? slow : quick, 'text/plain', job.slow ? slowChunking : quickChunking, { tenant: job.tenant })
          .then((doc) => doc, (error: unknown) => error)
          .then((outcome) => {
            settled.push(job.name);
            outcomes.set(job.name, outcome);
          }),
      ),
    );
    return { settled, outcomes };
  }

  test('with one worker, a second tenant is served before the first one\'s backlog, and the two alternate', async () => {
    const strict = strictPool(1);
    try {
      const { settled, outcomes } = await settleOrder(strict, [
        { name: 'a1', tenant: 'team-a', slow: true },
        { name: 'a2', tenant: 'team-a', slow: true },
        { name: 'a3', tenant: 'team-a', slow: true },
        { name: 'b1', tenant: 'team-b', slow: false },
        { name: 'b2', tenant: 'team-b', slow: false },
      ]);
      // One shared FIFO queue would give a1, a2, a3, b1, b2: team B behind all of team A's files.
      expect(settled).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
      for (const name of ['a1', 'a2', 'a3']) expect(outcomes.get(name)).toMatchObject({ code: 'chunk_timeout' });
      for (const name of ['b1', 'b2']) expect(outcomes.get(name)).toMatchObject({ chunks: [expect.objectContaining({ text: 'One line of another team.' })] });
    } finally {
      await strict.close();
    }
  }, 60_000);

  test('with two workers, the first worker to free up goes to the waiting tenant, not to the backlog', async () => {
    const strict = strictPool(2);
    try {
      const { settled, outcomes } = await settleOrder(strict, [
        { name: 'a1', tenant: 'team-a', slow: true },
        { name: 'a2', tenant: 'team-a', slow: true },
        { name: 'a3', tenant: 'team-a', slow: true },
        { name: 'a4', tenant: 'team-a', slow: true },
        { name: 'b1', tenant: 'team-b', slow: false },
      ]);
      // In FIFO order b1 would start only once a3 or a4 had ended.
      expect(settled.indexOf('b1')).toBeLessThan(settled.indexOf('a3'));
      expect(settled.indexOf('b1')).toBeLessThan(settled.indexOf('a4'));
      expect(outcomes.get('b1')).toMatchObject({ chunks: [expect.objectContaining({ text: 'One line of another team.' })] });
    } finally {
      await strict.close();
    }
  }, 60_000);

  test('a tenant alone uses every worker', async () => {
    const strict = strictPool(2);
    try {
      const events: string[] = [];
      const run = (name: string) =>
        strict
          .parseAndChunk(slow, 'text/plain', slowChunking, { tenant: 'team-a', onParsed: () => events.push(`start ${name}`) })
          .catch((error: unknown) => error)
          .then((outcome) => {
            events.push(`end ${name}`);
            return outcome;
          });
      const outcomes = await Promise.all([run('a1'), run('a2')]);
      for (const outcome of outcomes) expect(outcome).toMatchObject({ code: 'chunk_timeout' });
      // Both were being chunked at once: each started before either ended.
      expect(events.slice(0, 2).sort()).toEqual(['start a1', 'start a2']);
      expect(events.slice(2).sort()).toEqual(['end a1', 'end a2']);
    } finally {
      await strict.close();
    }
  }, 60_000);
});

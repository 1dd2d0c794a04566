import { DocumentFailureCodeSchema, documentFailureAdvice, ERROR_CODES, isErrorCode, type ErrorCode } from '@quire/contracts';
import { ProviderError } from '@quire/models';
import { AppError } from '@quire/server-kit';
import { ChunkingError } from '../chunk/chunk-text.js';
import { EmbeddingValidationError } from '../embed/embed-chunks.js';
import { IndexVersionChangedError } from '../index/index-chunks.js';
import { ChunkingStoppedError } from '../parse/chunking-stopped-error.js';
import { ParseError } from '../parse/extracted-text.js';
import { TooManyChunksError } from '../parse/too-many-chunks-error.js';
import { classifyFailure, NoTextError } from './classify-failure.js';

describe('classifyFailure', () => {
  test.each([
    // A 409 from a provider reached as a gateway AppError: another try later may pass, as ProviderError says for it.
    ['provider_conflict', true],
    // The gateway's unexpected failure: as likely a blip as a bug, so tried again like one of our own.
    ['internal_error', true],
    ['service_unavailable', true],
    ['provider_rate_limited', true],
    ['budget_exceeded', false],
    ['rate_limit_exceeded', false],
    ['provider_quota_exceeded', false],
    ['provider_not_configured', false],
    ['invalid_request', false],
  ] as const)('retries a gateway %s: %s', (code, retryable) => {
    expect(classifyFailure(new AppError(code, 'said the gateway'), 'embedding')).toEqual({ code, reason: 'said the gateway', stage: 'embedding', retryable });
  });

  test("every AppError code's retry decision is the one in ERROR_CODES", () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect([code, classifyFailure(new AppError(code, 'x'), 'embedding').retryable]).toEqual([code, ERROR_CODES[code].retryable]);
    }
  });

  test("a ProviderError keeps its own flag (the provider's x-should-retry can overrule its code's)", () => {
    const said = new ProviderError({ code: 'provider_server_error', provider: 'gateway', message: 'no', retryable: false });
    expect(classifyFailure(said, 'embedding')).toMatchObject({ code: 'provider_server_error', retryable: false });
  });

  test.each([
    ['a parse failure', new ParseError('locked', { code: 'password_protected' }), 'parsing', { code: 'password_protected', stage: 'parsing', retryable: false }],
    ['no text', new NoTextError('empty'), 'parsing', { code: 'no_text_extracted', stage: 'parsing', retryable: false }],
    ['a chunking stopped at its deadline', new ChunkingStoppedError('chunk_timeout', 'slow', { name: 'chunkTimeoutMs', value: 50 }), 'chunking', { code: 'chunk_timeout', stage: 'chunking', retryable: false, limit: { name: 'chunkTimeoutMs', value: 50 } }],
    ['a file over a limit', new ParseError('long', { limit: { name: 'maxPages', value: 3 } }), 'parsing', { code: 'parse_failed', stage: 'parsing', retryable: false, limit: { name: 'maxPages', value: 3 } }],
    ['too many chunks', new TooManyChunksError(12, 10), 'chunking', { code: 'chunking_failed', stage: 'chunking', retryable: false, limit: { name: 'maxChunks', value: 10 } }],
    ['a chunking failure', new ChunkingError('lost'), 'chunking', { code: 'chunking_failed', stage: 'chunking', retryable: false }],
    ['a bad vector', new EmbeddingValidationError('dimension_mismatch', 'wrong'), 'embedding', { code: 'dimension_mismatch', stage: 'embedding', retryable: false }],
    ['an index version change', new IndexVersionChangedError('moved'), 'indexing', { code: 'indexing_failed', stage: 'indexing', retryable: true }],
    ['anything else while embedding', new Error('connection terminated'), 'embedding', { code: 'embedding_failed', stage: 'embedding', retryable: true }],
    ['anything else outside a named stage', new Error('boom'), 'queued', { code: 'ingestion_failed', stage: 'queued', retryable: true }],
  ] as const)('stores %s under a DocumentFailureCode', (_name, error, stage, expected) => {
    const failure = classifyFailure(error, stage);
    expect(failure).toMatchObject(expected);
    expect(DocumentFailureCodeSchema.safeParse(failure.code).success && !isErrorCode(failure.code)).toBe(true);
  });

  test.each(['parsing', 'chunking'] as const)('an unexpected failure while %s is not blamed on the file: a person may retry it', (stage) => {
    // A dropped database connection during a progress write, outlasting the job's own attempts.
    const failure = classifyFailure(new Error('Connection terminated unexpectedly'), stage);
    expect(failure).toMatchObject({ code: 'ingestion_failed', stage, retryable: true });
    expect(documentFailureAdvice(failure.code, { id: 'doc-1', documentId: 'doc-1' }).retryable).toBe(true);
  });
});

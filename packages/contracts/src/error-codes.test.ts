import { documentFailureAdvice, DocumentFailureCodeSchema, ERROR_CODES, isErrorCode, type ErrorCode } from './error-codes.js';

describe('ERROR_CODES', () => {
  test('retryable codes are exactly the passing faults (a change here is a retry-policy change for ingestion and the gateway client)', () => {
    const retryable = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code].retryable).sort();
    expect(retryable).toEqual([
      'internal_error',
      'provider_conflict',
      'provider_network_error',
      'provider_overloaded',
      'provider_rate_limited',
      'provider_server_error',
      'provider_timeout',
      'service_unavailable',
      'uploads_busy',
    ]);
  });

  test.each([
    // Same status, different answers: the status alone does not decide.
    ['provider_quota_exceeded', 429, false],
    ['rate_limit_exceeded', 429, false],
    ['provider_rate_limited', 429, true],
    ['provider_not_configured', 503, false],
    ['conflict', 409, false],
  ] as const)('%s (%i) is retryable: %s', (code, status, retryable) => {
    expect(ERROR_CODES[code]).toMatchObject({ status, retryable });
  });
});

describe('DocumentFailureCodeSchema', () => {
  test("names no ErrorCode, so a document's error.code means one thing", () => {
    expect(DocumentFailureCodeSchema.options.filter((code) => isErrorCode(code))).toEqual([]);
  });

  test('accepts the stored codes and refuses others', () => {
    for (const code of ['parse_failed', 'no_text_extracted', 'chunk_timeout', 'stalled', 'superseded']) expect(DocumentFailureCodeSchema.parse(code)).toBe(code);
    expect(DocumentFailureCodeSchema.safeParse('provider_timeout').success).toBe(false);
  });
});

describe('documentFailureAdvice', () => {
  const ids = { id: 'rep-1', documentId: 'doc-1' };

  test('refuses a retry exactly where the file itself is the cause, and then says what to upload, with PUT to the document', () => {
    const notRetryable = DocumentFailureCodeSchema.options.filter((code) => !documentFailureAdvice(code, ids).retryable).sort();
    expect(notRetryable).toEqual(['chunk_out_of_memory', 'chunk_timeout', 'chunking_failed', 'no_text_extracted', 'parse_failed', 'password_protected', 'superseded', 'too_much_text']);
    for (const code of notRetryable) expect(documentFailureAdvice(code, ids).action).toContain('PUT /v1/documents/doc-1');
    expect(documentFailureAdvice('no_text_extracted', ids).action).toMatch(/OCR/);
  });

  test('a failure of time or configuration is retryable, also where a service would not repeat the call (a person fixes the setting first)', () => {
    for (const code of ['provider_not_configured', 'provider_auth_failed', 'budget_exceeded', 'provider_quota_exceeded', 'provider_timeout', 'stalled', 'embedding_failed'] as const) {
      const advice = documentFailureAdvice(code, ids);
      expect([code, advice.retryable, advice.action]).toEqual([code, true, expect.stringContaining('POST /v1/documents/rep-1/retry')]);
    }
    expect(ERROR_CODES.provider_not_configured.retryable).toBe(false);
    expect(documentFailureAdvice('provider_not_configured', ids).action).toMatch(/^Configure .*OPENAI_API_KEY.*, then retry with POST \/v1\/documents\/rep-1\/retry\.$/);
    expect(documentFailureAdvice('provider_timeout', ids).action).toMatch(/temporary/);
  });

  test('a failure because the submitter\'s key was revoked or expired says a retry with a valid key takes it over', () => {
    for (const code of ['api_key_revoked', 'api_key_expired'] as const) {
      const advice = documentFailureAdvice(code, ids);
      expect([code, advice.retryable]).toEqual([code, true]);
      expect(advice.action).toMatch(/^The key that submitted it (was revoked|has expired): retry with POST \/v1\/documents\/rep-1\/retry using a valid key/);
    }
  });

  test('a failure under a limit is retryable once the limit is raised, and until then says which setting to raise', () => {
    const limit = { setting: 'QUIRE_INGEST_MAX_PAGES', failedUnder: 2000 };
    expect(documentFailureAdvice('parse_failed', ids, { ...limit, raised: false })).toEqual({
      retryable: false,
      action: 'Upload a smaller version (e.g. split into parts) with PUT /v1/documents/doc-1; to take this file as it is, raise QUIRE_INGEST_MAX_PAGES above 2000, then retry with POST /v1/documents/rep-1/retry.',
    });
    expect(documentFailureAdvice('parse_failed', ids, { ...limit, raised: true })).toEqual({
      retryable: true,
      action: 'QUIRE_INGEST_MAX_PAGES is now above the 2000 this failed under: retry with POST /v1/documents/rep-1/retry.',
    });
  });

  test('an unknown stored code does not block a retry', () => {
    expect(documentFailureAdvice('from_a_later_release', ids)).toEqual({ retryable: true, action: 'Retry with POST /v1/documents/rep-1/retry.' });
  });
});

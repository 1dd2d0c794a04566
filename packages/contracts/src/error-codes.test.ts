import { DocumentFailureCodeSchema, ERROR_CODES, isErrorCode, type ErrorCode } from './error-codes.js';

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

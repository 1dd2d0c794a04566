import { ProviderError } from '@quire/models';
import { AppError } from '@quire/server-kit';
import { isCaseRetryable } from './benchmark-runner.js';

test('a case is tried again on the codes the contracts call retryable, whatever service raised them', () => {
  // The gateway's answers reach the runner as AppErrors; a provider timeout there is worth another try.
  expect(isCaseRetryable(new AppError('provider_timeout', 'openai missed the first byte deadline'))).toBe(true);
  expect(isCaseRetryable(new AppError('provider_rate_limited', 'slow down'))).toBe(true);
  expect(isCaseRetryable(new AppError('service_unavailable', 'Redis is reconnecting'))).toBe(true);
  expect(isCaseRetryable(new AppError('internal_error', 'Internal error.'))).toBe(true);
  // A setting, a bill or a bad request does not change by waiting half a second.
  expect(isCaseRetryable(new AppError('budget_exceeded', 'The monthly budget is spent.'))).toBe(false);
  expect(isCaseRetryable(new AppError('provider_not_configured', 'Set OPENAI_API_KEY.'))).toBe(false);
  expect(isCaseRetryable(new AppError('invalid_request', 'top_k must be at most 100.'))).toBe(false);
  expect(isCaseRetryable(new ProviderError({ code: 'provider_server_error', provider: 'gateway', message: 'boom', retryable: true }))).toBe(true);
  expect(isCaseRetryable(new Error('not ours'))).toBe(false);
});

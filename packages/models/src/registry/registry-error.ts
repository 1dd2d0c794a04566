/**
 * Registry failures are configuration mistakes, not provider failures, so they are never retryable
 * and carry their own codes.
 */
export type RegistryErrorCode =
  | 'invalid_model_name' // not "provider/model"
  | 'unknown_provider' // no such provider in the configuration, and not one we know how to configure
  | 'provider_not_configured' // a well-known provider (openai, anthropic) without its env vars
  | 'model_capability_unsupported' // the provider has no adapter for this capability
  | 'invalid_provider_config' // the configuration itself is malformed
  | 'unsafe_base_url'; // a base URL points at a loopback, private or metadata host (SSRF guard)

const BRAND = Symbol.for('quire.RegistryError');

export class RegistryError extends Error {
  readonly [BRAND] = true;
  readonly code: RegistryErrorCode;
  readonly retryable = false;

  constructor(code: RegistryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryError';
    this.code = code;
  }

  static is(error: unknown): error is RegistryError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
  }
}

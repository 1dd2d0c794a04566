/** Options every model call accepts, whatever the capability. */
export interface CallOptionsV1 {
  abortSignal?: AbortSignal;
  /**
   * Extra request headers set by the platform itself (trace ids, attribution). Never filled from a
   * caller's request body: provider credentials and hosts come only from provider settings.
   */
  headers?: Record<string, string>;
}

/** What every model call returns besides its payload. */
export interface ResponseMetaV1 {
  /** The provider's request id (for example OpenAI's `x-request-id`), when it sent one. */
  requestId?: string;
  /** The model that actually served the call, when the provider reports a resolved name. */
  responseModelId?: string;
}

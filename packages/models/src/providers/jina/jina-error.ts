import { withDetailMessage } from '../shared/detail-error.js';

/** Re-reads an HTTP error from the shared layer so the message carries Jina's `detail` text. */
export function asJinaError(provider: string, error: unknown): unknown {
  return withDetailMessage(provider, error);
}

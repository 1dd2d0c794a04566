import { withDetailMessage } from '../shared/detail-error.js';

/** Re-reads an HTTP error from the shared layer so the message carries Voyage's `detail` text. */
export function asVoyageError(provider: string, error: unknown): unknown {
  return withDetailMessage(provider, error);
}

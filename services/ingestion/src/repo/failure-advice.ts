import { documentFailureAdvice, type DocumentError } from '@quire/contracts';
import { safeReadJsonb } from '@quire/db';
import { z } from 'zod';
import { DOCUMENT_LIMITS, inSettingUnits, LIMIT_SETTING, type DocumentLimitName, type FailedLimit, type IngestionLimits } from '../limits.js';

/**
 * The limits in force in this process, which a failure's recorded limit is compared with. The API
 * and the workers read the same settings (limits-env.ts); a deployment that gives them different
 * values answers with the API's, and a retry it lets through fails again in a worker still under the old one.
 */
export type LimitsInForce = Pick<IngestionLimits, DocumentLimitName>;

const FailedLimitSchema = z.object({ name: z.enum(DOCUMENT_LIMITS), value: z.number() }).nullable();

/** What a failed row stores about its failure (documents' error_* columns). */
export interface StoredFailure {
  /** The failed row (the one a retry names) and the document its content is for. */
  id: string;
  documentId: string;
  code: string;
  message: string;
  stage: string | null;
  /** `documents.error_limit` as read. */
  limit: unknown;
}

/**
 * A stored `error_limit`. One this release cannot read (a limit another release records) is taken as
 * none, so the code's own advice applies: a GET must not fail on it.
 */
export function readFailedLimit(value: unknown, id: string): FailedLimit | null {
  const read = safeReadJsonb(FailedLimitSchema, value, `documents.error_limit (document ${id})`);
  return read.success ? read.data : null;
}

/**
 * A failed row's `error` as the API shows it: `retryable` and `action` from its code, or, where it
 * failed under a limit, from that limit against `limits` (raised since: retryable). Without `limits`
 * (a row that cannot have failed, such as one just inserted) a limit reads as not raised.
 */
export function documentError(failure: StoredFailure, limits: LimitsInForce | undefined): DocumentError {
  const { id, documentId, code, message, stage } = failure;
  const limit = readFailedLimit(failure.limit, id);
  if (!limit) return { code, message, stage, ...documentFailureAdvice(code, { id, documentId }) };
  const setting = LIMIT_SETTING[limit.name];
  const failedUnder = inSettingUnits(limit);
  const raised = limits !== undefined && limits[limit.name] > limit.value;
  return {
    code,
    message,
    stage,
    ...documentFailureAdvice(code, { id, documentId }, { setting, failedUnder, raised }),
    limit: { setting, failed_under: failedUnder },
  };
}

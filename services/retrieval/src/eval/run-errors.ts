import { ACCOUNT_CODES, CODE_TEXT, ProviderError, type ProviderErrorCode } from '@quire/models';
import { AppError } from '@quire/server-kit';

/** As the gateway caps provider text it passes on (PUBLIC_DETAIL_MAX in @quire/models). */
export const RUN_ERROR_MAX = 300;

/** Said of anything that is neither a provider's nor a service's error: its text stays in the log. */
export const INTERNAL_RUN_ERROR = 'Internal error while running the case; the retrieval service log has the cause.';

/** What a refusal of the run's key says, by HTTP status: the gateway's own words name the team, its budget or limits. */
const REFUSED: Record<number, string> = {
  401: "The gateway did not accept the run's key",
  402: "A budget does not cover the run's model calls",
  403: "The run's key may not make this call",
  429: 'A rate limit was reached',
};

const cap = (text: string) => (text.length > RUN_ERROR_MAX ? `${text.slice(0, RUN_ERROR_MAX - 1)}…` : text);
const isProviderCode = (code: string): code is ProviderErrorCode => Object.hasOwn(CODE_TEXT, code);

/**
 * The text a benchmark stores, and so shows every reader of its team, for an error of a case or of
 * the run: the rules of an error answered to a caller. A run stores what it met while acting as its
 * creator's key, and its results are read by the whole owning team (and, for a run an organisation
 * admin made, name the admin's team), so the text must hold no operator's account details and no
 * other team's figures:
 * - a provider's account errors (ACCOUNT_CODES: key, permission, quota, rate limit), whether thrown
 *   as a ProviderError or restored by the gateway client as an AppError, give the code's own words;
 *   other provider text is its public message, capped;
 * - the gateway's refusals of the key (401, 402, 403, 429: budgets, limits, allow lists) give words
 *   by status, since their messages name a team, a budget and its limit;
 * - `internal_error` and anything that is not an AppError (a database or programming error) say
 *   only that it happened, as the API's 500 does;
 * - any other service error keeps its message (written for callers), capped.
 * The caller logs the original.
 */
export function publicRunError(error: unknown): string {
  if (ProviderError.is(error)) {
    return cap(ACCOUNT_CODES.has(error.code) ? `Provider "${error.provider}" ${CODE_TEXT[error.code]}.` : error.publicMessage);
  }
  if (AppError.is(error)) {
    if (isProviderCode(error.code) && ACCOUNT_CODES.has(error.code)) return `The model provider ${CODE_TEXT[error.code]} (${error.code}).`;
    const refused = REFUSED[error.status];
    if (refused) return `${refused} (${error.code}).`;
    if (error.code === 'internal_error') return INTERNAL_RUN_ERROR;
    return cap(error.message);
  }
  return INTERNAL_RUN_ERROR;
}

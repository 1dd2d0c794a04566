import type { z } from 'zod';
import { describeEnvIssue } from './service-env.js';

const BRAND = Symbol.for('quire.ConfigError');
/** An environment variable's name in a sentence: upper case words joined by `_` (QUIRE_INGEST_MAX_UPLOAD_MB). */
const VARIABLE_NAME = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g;

/**
 * A setting a service cannot start with, the one error every service's environment reader throws
 * (gateway, ingestion, retrieval, and `pnpm start`, which reads all three). Its `code` is
 * `<service>_config_invalid` (stable: the mains exit 2 on it, `pnpm start` shows it), `variables`
 * names the environment variables to fix, and `issues` holds one sentence per problem, each naming
 * its variable; the message is `Invalid <service> configuration: <issues>`.
 */
export class ConfigError<S extends string = string> extends Error {
  readonly [BRAND] = true;
  override name = 'ConfigError';
  readonly code: `${S}_config_invalid`;

  constructor(
    readonly service: S,
    readonly issues: string[],
    readonly variables: string[] = [],
  ) {
    super(`Invalid ${service} configuration: ${issues.join('; ')}`);
    this.code = `${service}_config_invalid`;
  }

  /**
   * From a failed parse of the environment: one sentence per issue (see describeEnvIssue), and the
   * variables they are about: an issue's field, or for a check across fields (no field of its own)
   * the variable names its sentence mentions.
   */
  static fromIssues<S extends string>(service: S, issues: readonly z.ZodError['issues'][number][]): ConfigError<S> {
    const named = (issue: z.ZodError['issues'][number]) =>
      typeof issue.path[0] === 'string' ? [issue.path[0]] : (issue.message.match(VARIABLE_NAME) ?? []);
    return new ConfigError(service, issues.map(describeEnvIssue), [...new Set(issues.flatMap(named))]);
  }

  static is(error: unknown): error is ConfigError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
  }
}

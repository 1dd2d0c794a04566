import { z } from 'zod';

/** A small JSON-lines logger. Secrets never reach it: callers log ids and codes, not headers or keys. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const LogLevelSchema = z.enum(['debug', 'info', 'warn', 'error']);
let warnedLevel: string | undefined;

/**
 * QUIRE_LOG_LEVEL, or `info`. An unknown value is said once on stderr rather than refused: a typo in a
 * log level should not keep a service down, and every service creates loggers before it reads its config.
 */
export function logLevelFromEnv(value: string | undefined = process.env.QUIRE_LOG_LEVEL): LogLevel {
  if (value === undefined || value.trim() === '') return 'info';
  const parsed = LogLevelSchema.safeParse(value.trim().toLowerCase());
  if (parsed.success) return parsed.data;
  if (warnedLevel !== value) {
    warnedLevel = value;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: `QUIRE_LOG_LEVEL must be one of ${LogLevelSchema.options.join(', ')} (got "${value}"); logging at info` })}\n`);
  }
  return 'info';
}

export function createLogger(base: Record<string, unknown> = {}, level: LogLevel = logLevelFromEnv()): Logger {
  const min = ORDER[level];
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...fields });
    (lvl === 'error' || lvl === 'warn' ? process.stderr : process.stdout).write(line + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, level),
  };
}

import { createLogger, logLevelFromEnv } from './logger.js';

/** What `fn` wrote to stdout and stderr, kept from the test output. */
function captured(fn: () => void): string[] {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  for (const s of streams) s.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof s.write;
  try {
    fn();
  } finally {
    streams.forEach((s, i) => (s.write = originals[i]!));
  }
  return lines;
}

describe('QUIRE_LOG_LEVEL', () => {
  test('known levels are read whatever their case; unset or blank is info', () => {
    expect(logLevelFromEnv('debug')).toBe('debug');
    expect(logLevelFromEnv(' WARN ')).toBe('warn');
    expect(logLevelFromEnv(undefined)).toBe('info');
    expect(logLevelFromEnv('')).toBe('info');
  });

  test('an unknown level is said once, and logging goes on at info', () => {
    const writes = captured(() => {
      expect(logLevelFromEnv('verbose')).toBe('info');
      expect(logLevelFromEnv('verbose')).toBe('info');
    });
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0]!)).toMatchObject({ level: 'warn', msg: expect.stringContaining('QUIRE_LOG_LEVEL must be one of debug, info, warn, error (got "verbose")') });
  });

  test('a logger at warn drops info lines and writes warnings as JSON', () => {
    const out = captured(() => {
      const logger = createLogger({ app: 't' }, 'warn');
      logger.info('hidden');
      logger.child({ part: 'x' }).warn('shown', { n: 1 });
    });
    expect(out.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ level: 'warn', msg: 'shown', app: 't', part: 'x', n: 1 })]);
  });
});

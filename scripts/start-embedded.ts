import { DataDirInUseError } from '@quire/db';
import { createLogger, stopOnSignals } from '@quire/server-kit';
import { PortInUseError, startQuire } from './start-quire.js';

const quire = await startQuire().catch((error: unknown) => {
  // A refusal a person can act on is said in one line; anything else keeps its stack.
  const code = (error as { code?: unknown } | null)?.code;
  const actionable = error instanceof DataDirInUseError || error instanceof PortInUseError || (typeof code === 'string' && code.endsWith('_config_invalid'));
  process.stderr.write(`\nQuire did not start: ${actionable ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
process.stdout.write(`\nQuire is listening on ${quire.url}  (Ctrl+C to stop; twice to stop without waiting)\n\n`);
// The first signal lets requests in progress finish (QUIRE_SHUTDOWN_DRAIN_MS), then flushes the ledger.
stopOnSignals(createLogger({ app: 'quire' }), () => quire.stop());

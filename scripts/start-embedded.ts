import { DataDirInUseError } from '@quire/db';
import { startQuire } from './start-quire.js';

const quire = await startQuire().catch((error: unknown) => {
  // A refusal a person can act on is said in one line; anything else keeps its stack.
  process.stderr.write(`\nQuire did not start: ${error instanceof DataDirInUseError ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
process.stdout.write(`\nQuire is listening on ${quire.url}  (Ctrl+C to stop)\n\n`);
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await quire.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

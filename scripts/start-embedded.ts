import { startQuire } from './start-quire.js';

const quire = await startQuire();
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

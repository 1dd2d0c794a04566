/** Prints a new, well-formed Quire API key (for QUIRE_ADMIN_KEY on a first start): `pnpm --silent new-key`. */
import { newKey } from '../services/gateway/src/governance/key-format.js';

process.stdout.write(`${newKey().key}\n`);

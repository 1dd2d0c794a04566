// Entry of a parse worker thread. Quire runs from TypeScript sources, and a worker starts with a
// fresh module loader, so the TypeScript loader is registered here before the real worker loads.
import { register } from 'tsx/esm/api';

register();
await import('./parse-worker.ts');

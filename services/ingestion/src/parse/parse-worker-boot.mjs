// Entry of a parse worker thread. Quire runs from TypeScript sources, and a worker starts with a
// fresh module loader, so the TypeScript loader is registered here before the real worker loads.
// pdf.js (about 3 MB of JavaScript) is loaded first, by Node's own loader: through the TypeScript
// loader it cost each worker some 200 MB of heap (transformed sources and source maps) for nothing.
import 'pdfjs-dist/legacy/build/pdf.mjs';
import 'pdfjs-dist/legacy/build/pdf.worker.mjs';
import { register } from 'tsx/esm/api';

register();
await import('./parse-worker.ts');

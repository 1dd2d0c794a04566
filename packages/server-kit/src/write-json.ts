import type { ServerResponse } from 'node:http';

/**
 * Sends a JSON body in one write with its length (what express's `res.json` does, without express):
 * handlers that answer on node:http directly and through express share it. Headers already set on
 * `res` (trace id, rate limits) go out too.
 */
export function writeJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

import http from 'node:http';
import { z } from 'zod';
import { drainMsSchema, listen, listenOptionsOf, sseStallMsOf } from './listen.js';
import { DEFAULT_SSE_STALL_MS, sseStallMsSchema } from './sse.js';

/** The part of a service's env schema that listen() options come from, as each service's config declares it. */
const ServerEnvSchema = z.object({ QUIRE_SHUTDOWN_DRAIN_MS: drainMsSchema, QUIRE_SSE_STALL_MS: sseStallMsSchema });

describe('QUIRE_SSE_STALL_MS', () => {
  test('defaults to DEFAULT_SSE_STALL_MS and takes a whole number of milliseconds from 1 s to 1 h', () => {
    expect(sseStallMsSchema.parse(undefined)).toBe(DEFAULT_SSE_STALL_MS);
    expect(DEFAULT_SSE_STALL_MS).toBe(60_000);
    expect(sseStallMsSchema.parse('15000')).toBe(15_000);
    expect(sseStallMsSchema.parse('1000')).toBe(1_000);
    expect(sseStallMsSchema.parse('3600000')).toBe(3_600_000);
  });

  test.each(['0', '-5', '999', '3600001', '1.5', 'sixty', '', '60s', 'Infinity'])('refuses %j with a message that names the setting and its range', (value) => {
    const result = ServerEnvSchema.safeParse({ QUIRE_SSE_STALL_MS: value });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toEqual([
      expect.objectContaining({
        path: ['QUIRE_SSE_STALL_MS'],
        message: 'QUIRE_SSE_STALL_MS must be a whole number of milliseconds from 1000 (1 s) to 3600000 (1 h); default 60000',
      }),
    ]);
  });

  test("a server started with a service's parsed env gives its streams that stall limit", async () => {
    const env = ServerEnvSchema.parse({ QUIRE_SSE_STALL_MS: '2500', QUIRE_SHUTDOWN_DRAIN_MS: '100' });
    expect(listenOptionsOf(env)).toEqual({ drainMs: 100, sseStallMs: 2500 });
    const seen: (number | undefined)[] = [];
    const app: http.RequestListener = (_req, res) => {
      seen.push(sseStallMsOf(res)); // what openSse falls back to when a route sets no stallMs
      res.end();
    };
    const server = await listen(app, 0, '127.0.0.1', listenOptionsOf(env));
    try {
      await new Promise<void>((resolve, reject) => http.get(server.url, (res) => res.resume().on('end', resolve)).on('error', reject));
    } finally {
      await server.close();
    }
    expect(seen).toEqual([2500]);
    // Unset: the default, passed explicitly.
    expect(listenOptionsOf(ServerEnvSchema.parse({})).sseStallMs).toBe(DEFAULT_SSE_STALL_MS);
  });
});

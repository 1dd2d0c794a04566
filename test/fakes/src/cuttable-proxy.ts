import net from 'node:net';

/** A TCP proxy to a real server, and the switch that cuts it: a dependency going away under a client. */
export interface CuttableProxy {
  /** The proxy's own port on 127.0.0.1. */
  port: number;
  /** Closes the proxy and every connection through it; nothing listens on `port` afterwards. */
  cut(): Promise<void>;
}

/**
 * Forwards 127.0.0.1:<port> to `target` (e.g. the test Redis) until cut, as when a Redis container
 * stops: connected clients see their sockets close, new ones are refused.
 */
export async function startCuttableProxy(target: { host: string; port: number }): Promise<CuttableProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [inbound, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(upstream).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  let cut: Promise<void> | undefined;
  return {
    port,
    cut: () =>
      (cut ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      })),
  };
}

/** The test Redis (REDIS_URL, else 127.0.0.1:6379) as a proxy target. */
export function testRedisTarget(): { host: string; port: number } {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  return { host: url.hostname, port: Number(url.port || 6379) };
}

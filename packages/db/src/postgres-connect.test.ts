import net from 'node:net';
import { openPostgres } from './postgres-db.js';

test('a database host that accepts connections but never answers fails the query within the connect timeout', async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  const db = openPostgres(`postgres://postgres@127.0.0.1:${port}/quire`, { connectTimeoutMs: 300 });
  try {
    const started = Date.now();
    await expect(db.query('SELECT 1')).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeLessThan(3_000);
  } finally {
    await db.close();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

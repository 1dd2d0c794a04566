import http from 'node:http';

/**
 * Posts `body` as JSON on a connection of its own (a kept-alive one could be closed by its idle
 * timeout as it is reused) and resolves at the response's headers. The client then reads nothing
 * until `read()`, so its socket fills up: what backpressure tests need of a slow reader.
 */
export function openPaused(url: string, body: unknown, headers: Record<string, string>): Promise<{ req: http.ClientRequest; read: () => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.pause();
      const read = () =>
        new Promise<string>((done, fail) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
          res.on('error', fail);
          res.resume();
        });
      resolve({ req, read });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

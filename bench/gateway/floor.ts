/**
 * The least a metering gateway must do, as a yardstick between the passthrough (which only moves
 * bytes) and Quire: buffer and JSON-parse the request, look the caller's key up in a Map, send a
 * re-serialised body upstream over a keep-alive pool, buffer and JSON-parse the answer to read its
 * usage, append one ledger line to a file with a synchronous write (so a kill cannot lose it), and
 * answer with JSON it serialises itself (SSE is relayed as it arrives and its usage event parsed).
 * No validation, routing, retries, deadlines, budgets, rate limits, pricing or database: whatever
 * this costs over the passthrough, any gateway that meters what it forwards pays too.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const target = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:9');
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
const keys = new Map([['Bearer floor-key', { team: 'bench', key: 'floor' }]]);
const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-floor-'));
const journal = fs.openSync(path.join(journalDir, 'ledger.jsonl'), 'a');

function readAll(stream: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.once('end', () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    stream.once('error', reject);
  });
}

function meter(caller: { team: string; key: string }, model: string, usage: { prompt_tokens?: number; completion_tokens?: number } | undefined): void {
  fs.writeSync(journal, `${JSON.stringify([caller.team, caller.key, model, usage?.prompt_tokens ?? null, usage?.completion_tokens ?? null, Date.now()])}\n`);
}

async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const caller = keys.get(req.headers.authorization ?? '');
  if (!caller) {
    res.writeHead(401).end();
    return;
  }
  const body = JSON.parse((await readAll(req)).toString()) as { model: string; stream?: boolean };
  const payload = JSON.stringify(body);
  const upstream = http.request(
    { hostname: target.hostname, port: target.port, path: req.url, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
    (up) => {
      if (body.stream) {
        res.writeHead(up.statusCode ?? 502, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
        let tail = '';
        up.on('data', (c: Buffer) => {
          // Events may straddle chunks: only whole lines are looked at.
          const lines = (tail + c.toString()).split('\n');
          tail = lines.pop()!;
          for (const line of lines) {
            if (line.startsWith('data: {') && line.includes('"usage":{')) usage = (JSON.parse(line.slice(6)) as { usage?: typeof usage }).usage ?? usage;
          }
          res.write(c);
        });
        up.once('end', () => {
          meter(caller, body.model, usage);
          res.end();
        });
        return;
      }
      void readAll(up).then((raw) => {
        const answer = JSON.parse(raw.toString()) as { usage?: { prompt_tokens?: number; completion_tokens?: number } };
        meter(caller, body.model, answer.usage);
        const out = JSON.stringify(answer);
        res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      });
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  upstream.end(payload);
}

const server = http.createServer((req, res) => {
  serve(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(400);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => {
  fs.rmSync(journalDir, { recursive: true, force: true });
  process.exit(0);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address() as { port: number }).port}\n`));

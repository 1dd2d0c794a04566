/**
 * A fast OpenAI-compatible upstream for the gateway benchmark: canned chat JSON, SSE and embeddings
 * with no parsing beyond what it must (the test fakes are exact but too slow to saturate a proxy).
 */
import http from 'node:http';

const CHAT = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1_760_000_000, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});
const words = ['Hello', ' from', ' the', ' benchmark', ' upstream', '.'];
const chunk = (delta: object, finish: string | null = null, usage: object | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_760_000_000, model: 'gpt-4o-mini', choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage })}\n\n`;
const SSE =
  chunk({ role: 'assistant', content: '' }) +
  words.map((w) => chunk({ content: w })).join('') +
  chunk({}, 'stop') +
  chunk({}, null, { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 }) +
  'data: [DONE]\n\n';
const vector = Array.from({ length: 256 }, (_v, i) => Number(Math.sin(i).toFixed(6)));
const EMBED = JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: vector }], model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } });

const server = http.createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    const body = Buffer.concat(parts).toString();
    if (req.url?.endsWith('/embeddings')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(EMBED) });
      res.end(EMBED);
    } else if (/"stream"\s*:\s*true/.test(body)) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end(SSE);
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(CHAT) });
      res.end(CHAT);
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as { port: number }).port}\n`);
});

/**
 * A yardstick between the floor (floor.ts) and Quire: non-streaming chat done in one pass, as the
 * floor does it, but with Quire's own pieces on: the key check and policy (Authenticator), admission
 * (allow lists, rate limits, budget reservation and settlement), the forbidden-field walk and the zod
 * request schema, the route lookup, zod validation of the provider's answer, pricing, and the ledger
 * (journal line plus the batched row in the database). What it leaves out is what Quire's request
 * path adds besides: the attempt loop (retries, fallback, per-target deadlines, the circuit breaker,
 * latency tracking), abort on client disconnect, and the provider adapter's translation layers.
 * It serves one route to one OpenAI-compatible upstream and is not a product path.
 * Run by `bench/gateway/lane-yardstick.ts`; needs DATABASE_URL (a migrated database) and UPSTREAM_URL.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { openPostgres } from '@quire/db';
import { createGatewayService, createModelCatalog, scopedFetch } from '@quire/gateway';
import { createModelRegistry, createPriceBook } from '@quire/models';
import { openAIChatResponseSchema } from '../../packages/models/src/providers/openai-compatible/openai-compatible-api-types.js';
import { createLogger, listen, parseWith, traceIdOf, writeJson } from '@quire/server-kit';
import { assertNoForbiddenFields } from '../../services/gateway/src/forbidden-fields.js';
import { admitModelCall, settleOnClose } from '../../services/gateway/src/governance/guards.js';
import { ChatCompletionBodySchema } from '../../services/gateway/src/model-api/validators.js';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:9');
const logger = createLogger({ bench: 'lane' }, 'error');
const db = openPostgres(process.env.DATABASE_URL!);
const registry = createModelRegistry({ up: { type: 'openai-compatible', baseURL: `${upstream.origin}/v1`, apiKey: 'sk-bench', allowLoopback: true } }, { fetch: scopedFetch });
const catalog = createModelCatalog(registry, createPriceBook({ 'up/gpt-4o-mini': { input: '0.15', output: '0.60', asOf: 'bench', source: 'bench' } }), logger);
const routes = 'routes:\n  chat-default:\n    targets: [up/gpt-4o-mini]\n';
const journalDir = mkdtempSync(path.join(os.tmpdir(), 'quire-lane-journal-'));
let apiKey = '';
const service = createGatewayService({
  db, catalog, logger, internalSecret: 'bench-secret-bench-secret-bench-secret-0', routes, ledger: { journalDir },
  upstreams: { ingestionUrl: 'http://127.0.0.1:9', retrievalUrl: 'http://127.0.0.1:9' },
  governance: { print: (line) => void (apiKey = /qk_[A-Za-z0-9_-]+/.exec(line)?.[0] ?? apiKey) },
});
const { governance: gov, ledger } = service;
await gov.ready;
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.once('end', () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    stream.once('error', reject);
  });
}

function post(payload: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: 'Bearer sk-bench', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
    const req = http.request({ hostname: upstream.hostname, port: upstream.port, path: '/v1/chat/completions', method: 'POST', agent, headers }, resolve);
    req.on('error', reject);
    req.end(payload, 'utf8');
  });
}

async function chat(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const traceId = traceIdOf(undefined);
  res.setHeader('x-trace-id', traceId);
  const raw = JSON.parse((await readAll(req)).toString('utf8')) as Record<string, unknown>;
  const { identity, policy } = await gov.auth.authenticate(req.headers.authorization, undefined);
  const admitted = await admitModelCall(gov, { traceId, identity, internal: false, policy }, raw, req.url!, (k, v) => res.setHeader(k, v));
  if (!settleOnClose(res, admitted.settle)) return;
  assertNoForbiddenFields(raw);
  const body = parseWith(ChatCompletionBodySchema, raw);
  const target = (await service.routes.get(body.model))!.targets[0]!;
  const started = performance.now();
  const up = await post(JSON.stringify({ ...raw, model: target.model.slice(target.model.indexOf('/') + 1) }));
  const answer = openAIChatResponseSchema.parse(JSON.parse((await readAll(up)).toString('utf8')));
  const u = answer.usage;
  const usage = { inputTokens: u?.prompt_tokens ?? 0, outputTokens: u?.completion_tokens ?? 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: u !== undefined };
  void ledger.record({
    attribution: { traceId, identity: admitted.identity, purpose: 'api' }, capability: 'chat', provider: 'up', model: 'gpt-4o-mini', route: body.model,
    attempt: 1, stream: false, status: 'ok', usage, costUsd: catalog.costOf(target.model, usage), latencyMs: performance.now() - started, routeReason: 'priority',
  });
  writeJson(res, 200, { id: `chatcmpl-${randomUUID().replace(/-/g, '')}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: body.model, choices: answer.choices, usage: u });
}

const serve = (req: IncomingMessage, res: ServerResponse): void => {
  if (req.method === 'POST' && req.url === '/v1/chat/completions') {
    void chat(req, res).catch((error: unknown) => {
      logger.error('lane failed', { err: String(error) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  } else {
    res.writeHead(404).end();
  }
};
const server = await listen(serve, 0);
process.stdout.write(`KEY ${apiKey}\nREADY ${server.port}\n`);
process.on('SIGTERM', () => {
  rmSync(journalDir, { recursive: true, force: true });
  process.exit(0);
});

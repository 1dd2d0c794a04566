import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake saw it; header names are lower-case. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Path with the query string. */
  url: string;
  headers: Record<string, string>;
  /** Parsed JSON, or the raw text when the body was not JSON, or undefined when empty. */
  body: any;
  rawBody: string;
}

/** A scripted failure: an HTTP error response, or a dropped connection with no response at all. */
export type FailureSpec = { status: number; body?: unknown; headers?: Record<string, string> } | { drop: true };

export type StreamFault =
  /** `destroy` resets the socket (the client sees a network error); `end` finishes the body cleanly but early. */
  | { kind: 'cut'; afterDeltas: number; mode: 'destroy' | 'end' }
  /** An in-band error event after HTTP 200, in the provider's own format. */
  | { kind: 'error'; afterDeltas: number; error?: { type?: string; message?: string; code?: string } };

/** Failure script shared by the fakes. Every scripted fault is consumed by the request it hits. */
export class FakeScript {
  private failures: FailureSpec[] = [];
  private streamFault: StreamFault | undefined;

  /** The next `n` requests (any route) fail with `spec`; missing bodies/headers get the provider's documented defaults. */
  failNext(n: number, spec: FailureSpec): void {
    for (let i = 0; i < n; i++) this.failures.push(spec);
  }

  /** The next streamed response stops after `nDeltas` content deltas, with no finish and no usage. */
  cutStreamAfter(nDeltas: number, options: { mode?: 'destroy' | 'end' } = {}): void {
    this.streamFault = { kind: 'cut', afterDeltas: nDeltas, mode: options.mode ?? 'destroy' };
  }

  /** The next streamed response sends a provider error event after `nDeltas` deltas, then ends. */
  streamErrorAfter(nDeltas: number, error?: { type?: string; message?: string; code?: string }): void {
    this.streamFault = { kind: 'error', afterDeltas: nDeltas, ...(error && { error }) };
  }

  reset(): void {
    this.failures = [];
    this.streamFault = undefined;
  }

  /** @internal */
  takeFailure(): FailureSpec | undefined {
    return this.failures.shift();
  }

  /** @internal */
  takeStreamFault(): StreamFault | undefined {
    const fault = this.streamFault;
    this.streamFault = undefined;
    return fault;
  }
}

/** A scripted HTTP error (not a dropped connection). */
export type HttpFailureSpec = Extract<FailureSpec, { status: number }>;

/**
 * Serves the next scripted failure, if any: a dropped connection resets the socket, an HTTP error
 * goes to `send` so each fake answers in its provider's own error format. True when one was served.
 */
export function serveScriptedFailure(script: FakeScript, res: ServerResponse, send: (failure: HttpFailureSpec) => void): boolean {
  const failure = script.takeFailure();
  if (!failure) return false;
  if ('drop' in failure) res.socket?.destroy();
  else send(failure);
  return true;
}

export interface FakeServer {
  /** Base URL ending in `/v1`, e.g. `http://127.0.0.1:53211/v1`. */
  url: string;
  /** Origin without the version segment. */
  origin: string;
  requests: RecordedRequest[];
  script: FakeScript;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => Promise<void>;

export async function readRecorded(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  if (rawBody !== '') {
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = rawBody;
    }
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  const url = req.url ?? '/';
  return { method: req.method ?? 'GET', path: url.split('?')[0] ?? url, url, headers, body, rawBody };
}

/** Where a fake listens: port 0 (a free port) on 127.0.0.1 unless a fixed one is wanted (local demos). */
export interface ListenOptions {
  port?: number;
  host?: string;
}

export async function startServer(handler: Handler, script: FakeScript, listen: ListenOptions = {}): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const recorded = await readRecorded(req);
      requests.push(recorded);
      await handler(req, res, recorded);
    })().catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `fake server bug: ${String(error)}`, type: 'server_error' } }));
      } else {
        res.destroy();
      }
    });
  });
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: `${origin}/v1`,
    origin,
    requests,
    script,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface SSEFrame {
  text: string;
  /** Counts toward `afterDeltas` of a stream fault. */
  delta?: boolean;
}

/**
 * Writes frames one by one (yielding between writes so clients see separate chunks) and applies
 * the stream fault, if any, after the given number of delta frames.
 */
export async function writeFrames(
  res: ServerResponse,
  frames: SSEFrame[],
  fault: StreamFault | undefined,
  errorFrame: (error: { type?: string; message?: string; code?: string } | undefined) => string,
): Promise<void> {
  let deltas = 0;
  const applyFault = (): boolean => {
    if (!fault || deltas < fault.afterDeltas) return false;
    if (fault.kind === 'cut') {
      if (fault.mode === 'destroy') res.socket?.destroy();
      else res.end();
    } else {
      res.end(errorFrame(fault.error));
    }
    return true;
  };
  if (applyFault()) return;
  for (const frame of frames) {
    res.write(frame.text);
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (frame.delta) {
      deltas++;
      if (applyFault()) return;
    }
  }
  res.end();
}

/** What a fake's `reply` option returns: plain text, or text and/or tool calls and usage extras. */
export interface FakeToolCall {
  id?: string;
  name: string;
  /** A JSON string, or an object that the fake serialises. */
  arguments: string | Record<string, unknown>;
}

export interface FakeReply {
  text?: string;
  toolCalls?: FakeToolCall[];
  /** Reasoning text: OpenAI fake sends it as DeepSeek-style `reasoning_content`, Anthropic as a thinking block. */
  reasoning?: string;
  /** Raw provider finish/stop reason, overriding the natural one. */
  finishReason?: string;
  /** Extra usage to report: cached prompt tokens, cache writes, hidden reasoning tokens. */
  usage?: { cachedTokens?: number; cacheWriteTokens?: number; reasoningTokens?: number };
}

export type ReplyFn = (requestBody: any) => string | FakeReply | Promise<string | FakeReply>;

export async function resolveReply(reply: ReplyFn, body: unknown, fallback: string): Promise<FakeReply> {
  const value = await reply(body);
  if (typeof value === 'string') return { text: value };
  return value ?? { text: fallback };
}

export function argumentsText(call: FakeToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

import type { Express } from 'express';
import http, { type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Logger } from './logger.js';

/**
 * How long a stopping server lets requests in progress finish by default. docker-compose sends
 * SIGKILL 10 s after SIGTERM (its default stop_grace_period): 8 s of draining leaves about 2 s to
 * flush the ledger and close the database and Redis before that.
 */
export const DEFAULT_DRAIN_MS = 8_000;

/** `QUIRE_SHUTDOWN_DRAIN_MS`, read by every service's main. */
export const drainMsSchema = z.coerce.number().int().min(0).max(600_000).default(DEFAULT_DRAIN_MS);

/** The listen() settings every service reads from its env: `drainMsSchema` and `sseStallMsSchema` (sse.ts) parse them. */
export interface ServerEnv {
  QUIRE_SHUTDOWN_DRAIN_MS: number;
  QUIRE_SSE_STALL_MS: number;
}

/** A service's listen() options from its parsed env; every service's main starts its server with these. */
export function listenOptionsOf(env: ServerEnv, logger?: Logger): ListenOptions {
  return { drainMs: env.QUIRE_SHUTDOWN_DRAIN_MS, sseStallMs: env.QUIRE_SSE_STALL_MS, ...(logger ? { logger } : {}) };
}

export interface ListenOptions {
  /** How long close() waits for requests in progress before it cuts them off (default DEFAULT_DRAIN_MS). */
  drainMs?: number;
  /** Told when the drain deadline cuts requests off. */
  logger?: Logger;
  /** The stall limit of this server's SSE streams (openSse's `stallMs`; default DEFAULT_SSE_STALL_MS in sse.ts). */
  sseStallMs?: number;
}

/**
 * A server's stop as its requests see it. Requests in progress are waited for, which suits an answer
 * that ends by itself; a live stream (progress events) would hold the stop for the whole drain
 * deadline, so it listens here and ends early, asking its client to reconnect.
 */
export interface Drain {
  /** True once close() has begun. */
  readonly draining: boolean;
  /**
   * Runs `listener` once when close() begins; in a microtask if it has begun already, so a request that
   * arrives while stopping (on a kept-alive connection) is told as well. Returns a function that removes it.
   */
  onDrain(listener: () => void): () => void;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  /** Begins with close(); the same drain `drainOf(res)` gives this server's requests. */
  drain: Drain;
  /**
   * Stops accepting connections, closes idle keep-alive ones, tells the drain's listeners, lets
   * requests in progress finish (up to the drain deadline, then cuts them off), and resolves once
   * every connection is closed.
   */
  close(): Promise<void>;
}

/** The drain of a response's server: set for each request a listen() server takes. */
const drains = new WeakMap<ServerResponse, Drain>();

/** The `sseStallMs` of a response's server, where its listen() set one. */
const stallLimits = new WeakMap<ServerResponse, number>();

/** The SSE stall limit the listen() server answering `res` was given; undefined when none (sse.ts then uses its default). */
export function sseStallMsOf(res: ServerResponse): number | undefined {
  return stallLimits.get(res);
}

/** For responses of servers not started by listen() (tests' own servers): they never drain. */
const NEVER: Drain = { draining: false, onDrain: () => () => undefined };

/** The drain of the server answering `res` (see Drain); a server not started by listen() never drains. */
export function drainOf(res: ServerResponse): Drain {
  return drains.get(res) ?? NEVER;
}

/** A Drain and the function that begins it; a listener that throws is logged and does not stop the others. */
function createDrain(logger: Logger | undefined): { drain: Drain; begin(): void } {
  const listeners = new Set<() => void>();
  let draining = false;
  const run = (listener: () => void) => {
    try {
      listener();
    } catch (error) {
      logger?.error('a drain listener failed', { err: String((error as Error)?.stack ?? error) });
    }
  };
  const drain: Drain = {
    get draining() {
      return draining;
    },
    onDrain(listener) {
      if (draining) {
        let removed = false;
        queueMicrotask(() => {
          if (!removed) run(listener);
        });
        return () => void (removed = true);
      }
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
  const begin = () => {
    if (draining) return;
    draining = true;
    const told = [...listeners];
    listeners.clear();
    for (const listener of told) run(listener);
  };
  return { drain, begin };
}

/**
 * Listens on host:port (0 picks a free port) and resolves once the port is bound. Takes an express app
 * or any node:http request listener (the gateway's model front, which hands the rest to express).
 */
export function listen(app: Express | RequestListener, port: number, host = '127.0.0.1', options: ListenOptions = {}): Promise<RunningServer> {
  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  const inFlight = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;
  const { drain, begin: beginDrain } = createDrain(options.logger);
  const server = http.createServer();
  // Registered before the app, so a response the app answers synchronously is still seen unsent.
  server.on('request', (_req, res: ServerResponse) => {
    // A request that came in on a kept-alive connection while stopping: its connection goes with it.
    if (closing) res.setHeader('connection', 'close');
    inFlight.add(res);
    drains.set(res, drain);
    if (options.sseStallMs !== undefined) stallLimits.set(res, options.sseStallMs);
    res.once('close', () => {
      inFlight.delete(res);
      // A finished response leaves its keep-alive connection idle, and an idle one would hold close() for keepAliveTimeout.
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  server.on('request', app as RequestListener);
  // `Expect: 100-continue`: Node answers 100 at once unless told otherwise, which invites the body
  // before a route could refuse it (a full upload budget, a missing key). The 100 goes out when a
  // handler starts reading the body instead; one that answers without reading never sends it.
  server.on('checkContinue', (req: http.IncomingMessage, res: ServerResponse) => {
    req.once('resume', () => {
      if (!res.headersSent && !res.writableEnded) res.writeContinue();
    });
    server.emit('request', req, res);
  });
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((done) => {
      let deadline: NodeJS.Timeout | undefined;
      server.close(() => {
        clearTimeout(deadline);
        done();
      });
      server.closeIdleConnections();
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      // After the headers above, so that a response a listener ends at once still says its connection closes.
      beginDrain();
      deadline = setTimeout(() => {
        if (inFlight.size > 0) options.logger?.warn('drain deadline passed; cutting off the requests still in progress', { requests: inFlight.size, drain_ms: drainMs });
        server.closeAllConnections();
      }, drainMs);
    });
    return closing;
  };
  return new Promise((resolve, reject) => {
    server.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      const address = server.address() as AddressInfo;
      server.keepAliveTimeout = 65_000;
      resolve({ server, port: address.port, url: `http://${host}:${address.port}`, drain, close });
    });
  });
}

/**
 * Runs `stop` on the first SIGTERM or SIGINT and exits 0 once it is done (1 if it failed). A second
 * signal exits at once with 1: whoever asks twice wants the process gone, whatever the first stop is
 * still waiting on.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>, exit: (code: number) => void = (code) => process.exit(code)): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal: exiting without finishing the shutdown', { signal });
      exit(1);
      return;
    }
    stopping = true;
    logger.info('shutting down', { signal });
    stop().then(
      () => exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { err: String((error as Error)?.stack ?? error) });
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

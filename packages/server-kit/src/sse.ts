import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { drainOf, sseStallMsOf } from './listen.js';

/**
 * How long a stream may wait on a client that takes nothing (see ready()) before it is cut off. A
 * waiting relay holds what it relays: a provider's connection, retrieval's answer loop, the gateway's
 * budget reservation; and the server sets no socket timeout, so a client that opens a stream and
 * never reads would hold them for good. A minute of no drain at all is no slow reader: one that
 * reads anything drains the socket's buffer and starts the count again.
 */
export const DEFAULT_SSE_STALL_MS = 60_000;

/** Bounds of QUIRE_SSE_STALL_MS: under a second cuts off readers on an ordinary network hiccup; past an hour a stuck client holds a provider's connection for good. */
export const SSE_STALL_MS_MIN = 1_000;
export const SSE_STALL_MS_MAX = 3_600_000;
const SSE_STALL_MS_RULE = `QUIRE_SSE_STALL_MS must be a whole number of milliseconds from ${SSE_STALL_MS_MIN} (1 s) to ${SSE_STALL_MS_MAX} (1 h); default ${DEFAULT_SSE_STALL_MS}`;

/**
 * `QUIRE_SSE_STALL_MS`, read by every service's config and passed to listen() as `sseStallMs`: how long
 * one of its SSE streams may wait on a client that reads nothing before it is cut off (default
 * DEFAULT_SSE_STALL_MS). Unset is the default; anything set must be in range ("" included, it is no number).
 */
export const sseStallMsSchema = z.coerce
  .number({ error: SSE_STALL_MS_RULE })
  .int(SSE_STALL_MS_RULE)
  .min(SSE_STALL_MS_MIN, SSE_STALL_MS_RULE)
  .max(SSE_STALL_MS_MAX, SSE_STALL_MS_RULE)
  .default(DEFAULT_SSE_STALL_MS);

export interface OpenSseOptions {
  /** False: the headers travel with the first event (see openSse). */
  flushHeaders?: boolean;
  /**
   * How long a ready() wait may last without a drain before the response is destroyed (default: the
   * `sseStallMs` of the listen() server answering, else DEFAULT_SSE_STALL_MS).
   */
  stallMs?: number;
}

export interface SseWriter {
  /**
   * Sends one event; `event` names it (omit for OpenAI-style unnamed `data:` events). `retryMs` adds
   * the standard `retry:` field: how long an EventSource waits before it reconnects.
   */
  send(data: unknown, event?: string, options?: { retryMs?: number }): void;
  /** Sends a comment line (`: text`), which clients ignore: a keep-alive for proxies and load balancers. */
  comment(text: string): void;
  /** Sends a raw data line such as `[DONE]`. */
  sendRaw(data: string): void;
  end(): void;
  /**
   * Undefined while the client keeps up; otherwise a promise that resolves once the response's
   * socket has drained, or the response closed or ended (check `closed` after it). A loop relaying
   * another stream waits on it before pulling its next part: not reading upstream is what slows a
   * provider down to a slow reader's pace, where writing regardless would buffer the whole answer
   * here. Undefined rather than a resolved promise so the usual case costs no await per event.
   * A wait that sees no drain for the stall limit (OpenSseOptions.stallMs) destroys the response:
   * it then resolves with `closed` true, as for a client that went away.
   */
  ready(): Promise<void> | undefined;
  /** True once the client has gone away. */
  readonly closed: boolean;
  onClose(listener: () => void): void;
}

/** An open SSE response: its writer, and the stop of its server for a stream that would otherwise last. */
export interface SseStream extends SseWriter {
  /**
   * True once the server began to stop (see listen()'s Drain). A stream that would otherwise last
   * (live progress) should end now with an event asking the client to reconnect: it would hold the
   * stop for the whole drain deadline, and its client is better served by another replica. A stream
   * that ends by itself (an answer being generated) ignores this and is waited for.
   */
  readonly draining: boolean;
  /** Runs `listener` once when the server begins to stop while this stream is open (soon, if it already has). */
  onDrain(listener: () => void): void;
}

/**
 * Starts an SSE response. `flushHeaders: false` lets the headers travel with the first event, one
 * socket write instead of two, for a caller that sends its first event at once (the gateway opens its
 * stream only when the provider's first part is in hand).
 */
export function openSse(res: ServerResponse, options: OpenSseOptions = {}): SseStream {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache, no-transform');
  res.setHeader('connection', 'keep-alive');
  res.setHeader('x-accel-buffering', 'no');
  if (options.flushHeaders !== false) res.flushHeaders();
  let closed = false;
  const listeners: (() => void)[] = [];
  const drain = drainOf(res);
  const drainListeners: (() => void)[] = [];
  let drained = false;
  // One registration per stream, taken back when it ends: the server's drain outlives every stream.
  const stopWatchingDrain = drain.onDrain(() => {
    drained = true;
    if (closed || res.writableEnded) return;
    for (const l of drainListeners) l();
  });
  // Backpressure, for ready(): set when a write found the socket's buffer past its high-water mark,
  // cleared by its 'drain'. One waiter serves every caller until then.
  // A waiter arms one timer, taken back when it is released: the stall limit (DEFAULT_SSE_STALL_MS).
  // Destroying the response closes its socket; 'close' below releases the waiter and marks the
  // stream closed, so the relay stops and meters the call as aborted.
  let backedUp = false;
  let waiting: { promise: Promise<void>; release: () => void; stall: NodeJS.Timeout } | undefined;
  const stallMs = options.stallMs ?? sseStallMsOf(res) ?? DEFAULT_SSE_STALL_MS;
  const stalled = () => {
    if (waiting) res.destroy();
  };
  const release = () => {
    backedUp = false;
    const w = waiting;
    waiting = undefined;
    if (!w) return;
    clearTimeout(w.stall);
    w.release();
  };
  res.on('drain', release);
  res.on('close', () => {
    stopWatchingDrain();
    if (!res.writableFinished) {
      closed = true;
      for (const l of listeners) l();
    }
    // A response that closes never drains: its waiter must not wait forever.
    release();
  });
  // Events sent in the same turn of the event loop (one upstream network chunk's worth) go out as one
  // write: one chunked-encoding frame and one syscall instead of one per event. setImmediate, not
  // nextTick: it runs after the turn's I/O, so a provider stream whose last chunk and end arrive
  // together is answered with a single write (events, [DONE] and the end) instead of two.
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '' || closed) return;
    const text = pending;
    pending = '';
    // A waiter held by a full batch (see ready()) goes on once the batch is taken.
    if (res.write(text)) release();
    else backedUp = true;
  };
  const queue = (text: string) => {
    if (closed) return;
    pending += text;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return {
    send(data, event, options) {
      const retry = options?.retryMs !== undefined ? `retry: ${Math.max(0, Math.round(options.retryMs))}\n` : '';
      queue(`${event ? `event: ${event}\n` : ''}${retry}data: ${JSON.stringify(data)}\n\n`);
    },
    comment(text) {
      queue(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
    },
    sendRaw(data) {
      queue(`data: ${data}\n\n`);
    },
    end() {
      if (closed) return;
      const text = pending;
      pending = '';
      res.end(text);
    },
    ready() {
      if (closed || res.writableEnded) return undefined;
      // A turn's batch counts as buffered too: a source that has many events at hand (a large
      // network chunk, a cached answer) stops at a socket buffer's worth until it is written.
      if (!backedUp && pending.length < res.writableHighWaterMark) return undefined;
      if (!waiting) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        const stall = setTimeout(stalled, stallMs);
        stall.unref();
        waiting = { promise, release: resolve, stall };
      }
      return waiting.promise;
    },
    get closed() {
      return closed;
    },
    onClose(listener) {
      listeners.push(listener);
    },
    get draining() {
      return drain.draining;
    },
    onDrain(listener) {
      if (!drained) drainListeners.push(listener);
      else
        queueMicrotask(() => {
          if (!closed && !res.writableEnded) listener();
        });
    },
  };
}

import type { ServerResponse } from 'node:http';

export interface SseWriter {
  /** Sends one event; `event` names it (omit for OpenAI-style unnamed `data:` events). */
  send(data: unknown, event?: string): void;
  /** Sends a raw data line such as `[DONE]`. */
  sendRaw(data: string): void;
  end(): void;
  /** True once the client has gone away. */
  readonly closed: boolean;
  onClose(listener: () => void): void;
}

/**
 * Starts an SSE response. `flushHeaders: false` lets the headers travel with the first event, one
 * socket write instead of two, for a caller that sends its first event at once (the gateway opens its
 * stream only when the provider's first part is in hand).
 */
export function openSse(res: ServerResponse, options: { flushHeaders?: boolean } = {}): SseWriter {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache, no-transform');
  res.setHeader('connection', 'keep-alive');
  res.setHeader('x-accel-buffering', 'no');
  if (options.flushHeaders !== false) res.flushHeaders();
  let closed = false;
  const listeners: (() => void)[] = [];
  res.on('close', () => {
    if (!res.writableFinished) {
      closed = true;
      for (const l of listeners) l();
    }
  });
  return {
    send(data, event) {
      if (closed) return;
      res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    },
    sendRaw(data) {
      if (closed) return;
      res.write(`data: ${data}\n\n`);
    },
    end() {
      if (!closed) res.end();
    },
    get closed() {
      return closed;
    },
    onClose(listener) {
      listeners.push(listener);
    },
  };
}

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

export function openSse(res: ServerResponse): SseWriter {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache, no-transform');
  res.setHeader('connection', 'keep-alive');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
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

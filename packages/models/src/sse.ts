/** One server-sent event. `event` is absent when the server sent no `event:` field. */
export interface SSEEvent {
  event?: string;
  data: string;
  id?: string;
}

async function* chunksOf(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (Symbol.asyncIterator in source) {
    yield* source as AsyncIterable<Uint8Array>;
    return;
  }
  const reader = (source as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Parses an SSE byte stream per the WHATWG framing that providers actually use: `\n`, `\r\n` and
 * `\r` line ends (a `\r\n` split across chunks is one line end), `data:` with or without one space,
 * multi-line data joined by `\n`, `:` comment lines (keep-alives) skipped, unknown fields ignored.
 * An event is dispatched at a blank line, or at the end of the stream if its last line was complete
 * (a line cut off by a dropped connection is discarded rather than parsed as half a JSON payload).
 */
export async function* parseSSE(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<SSEEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let skipLeadingLF = false;
  let dataLines: string[] = [];
  let event: string | undefined;
  let id: string | undefined;
  let hasData = false;

  const takeEvent = (): SSEEvent | undefined => {
    const out = hasData ? { ...(event !== undefined && { event }), ...(id !== undefined && { id }), data: dataLines.join('\n') } : undefined;
    dataLines = [];
    event = undefined;
    hasData = false;
    return out;
  };

  const handleLine = (line: string): SSEEvent | undefined => {
    if (line === '') return takeEvent();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      dataLines.push(value);
      hasData = true;
    } else if (field === 'event') {
      event = value;
    } else if (field === 'id') {
      id = value;
    }
    return undefined;
  };

  for await (const chunk of chunksOf(source)) {
    buffer += decoder.decode(chunk, { stream: true });
    if (skipLeadingLF && buffer.startsWith('\n')) buffer = buffer.slice(1);
    skipLeadingLF = false;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const ch = buffer[i];
      if (ch !== '\n' && ch !== '\r') continue;
      const result = handleLine(buffer.slice(start, i));
      if (ch === '\r') {
        if (i + 1 < buffer.length) {
          if (buffer[i + 1] === '\n') i++;
        } else {
          skipLeadingLF = true;
        }
      }
      start = i + 1;
      if (result) yield result;
    }
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  const last = takeEvent();
  if (last) yield last;
}

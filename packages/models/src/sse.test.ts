import { parseSSE, SseDecoder, type SSEEvent } from './sse.js';

async function parse(chunks: string[]): Promise<SSEEvent[]> {
  async function* source() {
    for (const chunk of chunks) yield new TextEncoder().encode(chunk);
  }
  const out: SSEEvent[] = [];
  for await (const event of parseSSE(source())) out.push(event);
  return out;
}

describe('parseSSE', () => {
  it('parses data with and without a space, event names, comments and [DONE]', async () => {
    expect(await parse([': keep-alive\n\ndata: {"a":1}\n\ndata:{"b":2}\n\nevent: ping\ndata: {}\n\ndata: [DONE]\n\n'])).toEqual([
      { data: '{"a":1}' },
      { data: '{"b":2}' },
      { event: 'ping', data: '{}' },
      { data: '[DONE]' },
    ]);
  });

  it('accepts CRLF and CR separators, also when CRLF is split across chunks', async () => {
    expect(await parse(['data: one\r\n\r\ndata: two\r', '\n\r', '\ndata: three\r\rdata: four\n\n'])).toEqual([
      { data: 'one' },
      { data: 'two' },
      { data: 'three' },
      { data: 'four' },
    ]);
  });

  it('joins multi-line data, handles multi-byte characters split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: caf\u00e9\ndata: ok\n\n');
    async function* source() {
      yield bytes.slice(0, 9);
      yield bytes.slice(9);
    }
    const out: SSEEvent[] = [];
    for await (const event of parseSSE(source())) out.push(event);
    expect(out).toEqual([{ data: 'caf\u00e9\nok' }]);
  });

  it('dispatches a complete last event without a blank line, but drops a cut-off line', async () => {
    expect(await parse(['data: a\n\ndata: b\n'])).toEqual([{ data: 'a' }, { data: 'b' }]);
    expect(await parse(['data: a\n\ndata: {"trunc'])).toEqual([{ data: 'a' }]);
  });

  it('reads a web ReadableStream', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('event: message_stop\ndata: {"type":"message_stop"}\n\n'));
        controller.close();
      },
    });
    const out: SSEEvent[] = [];
    for await (const event of parseSSE(stream)) out.push(event);
    expect(out).toEqual([{ event: 'message_stop', data: '{"type":"message_stop"}' }]);
  });
});

describe('SseDecoder', () => {
  const decode = (chunks: string[]) => {
    const decoder = new SseDecoder();
    const out: SSEEvent[] = [];
    for (const chunk of chunks) decoder.push(new TextEncoder().encode(chunk), out);
    decoder.end(out);
    return out;
  };

  it('gives the same events however the bytes are cut', () => {
    const text = ': ping\r\nevent: delta\r\nid: 7\r\ndata: {"a":1}\r\ndata:two\r\n\r\ndata: [DONE]\n\nretry: 10\ndata\n\n';
    const whole = decode([text]);
    expect(whole).toEqual([
      { event: 'delta', id: '7', data: '{"a":1}\ntwo' },
      { id: '7', data: '[DONE]' },
      { id: '7', data: '' },
    ]);
    for (let cut = 1; cut < text.length; cut++) expect(decode([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    expect(decode(text.split(''))).toEqual(whole);
  });

  it('treats a field without a colon as an empty value and ignores unknown fields', () => {
    expect(decode(['event\ndata: x\nfoo: bar\n\n'])).toEqual([{ event: '', data: 'x' }]);
    expect(decode(['dat: x\n\ndata : y\n\n'])).toEqual([]);
  });
});

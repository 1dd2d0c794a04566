import { emptyUsage, type StreamPartV1 } from '@quire/models';
import type { SseWriter } from '@quire/server-kit';
import { ResponsesBodySchema } from './responses-schema.js';
import { streamResponse } from './responses.js';

/** The events a stream sends, as a client reads them. */
function recorder(): { sse: SseWriter; events: { type: string; [k: string]: unknown }[] } {
  const events: { type: string; [k: string]: unknown }[] = [];
  const sse = { send: (data: unknown) => void events.push(data as { type: string }), comment() {}, sendRaw() {}, end() {}, ready: () => undefined, closed: false, onClose() {} } as SseWriter;
  return { sse, events };
}

async function* parts(list: StreamPartV1[]): AsyncIterable<StreamPartV1> {
  yield* list;
}

test("parallel calls whose fragments a provider interleaves: no delta follows its call's done, and each done holds the whole arguments", async () => {
  const body = ResponsesBodySchema.parse({ model: 'p/m', input: 'weather in two cities', stream: true });
  const { sse, events } = recorder();
  await streamResponse(body, { id: 'resp_1', createdAt: 1 }, parts([
    { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'weather', argumentsDelta: '{"city":' },
    { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'weather', argumentsDelta: '{"city":"Oslo"}' },
    { type: 'tool-call-delta', index: 0, argumentsDelta: '"Paris"}' },
    { type: 'finish', finishReason: 'tool_calls', usage: { ...emptyUsage(), inputTokens: 5, outputTokens: 9 } },
  ]), sse, 'trace');

  const doneAt = new Map<string, number>();
  events.forEach((e, i) => {
    if (e.type === 'response.output_item.done') doneAt.set((e.item as { id: string }).id, i);
  });
  events.forEach((e, i) => {
    if (e.type === 'response.function_call_arguments.delta') expect(i).toBeLessThan(doneAt.get(e.item_id as string)!);
  });
  const done = events.filter((e) => e.type === 'response.function_call_arguments.done').map((e) => e.arguments);
  expect(done).toEqual(['{"city":"Paris"}', '{"city":"Oslo"}']);
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  const completed = events.at(-1)!;
  expect(completed.type).toBe('response.completed');
  expect((completed.response as { output: { call_id: string; arguments: string; status: string }[] }).output.map((o) => [o.call_id, o.arguments, o.status])).toEqual([
    ['call_a', '{"city":"Paris"}', 'completed'],
    ['call_b', '{"city":"Oslo"}', 'completed'],
  ]);
});

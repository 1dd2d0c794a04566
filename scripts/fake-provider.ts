/**
 * A local OpenAI-compatible fake provider for trying Quire without an API key (the README's
 * walk-through): deterministic embeddings, and answers that quote and cite the first source.
 *   pnpm fake-provider            # listens on 127.0.0.1:9100, base URL http://127.0.0.1:9100/v1
 */
import { startFakeOpenAI } from '@quire/fakes';

const port = Number(process.env.FAKE_PROVIDER_PORT ?? 9100);
const fake = await startFakeOpenAI({
  port,
  reply: (body: { messages: { content: unknown }[] }) => {
    const prompt = body.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
    const first = prompt.match(/\[1\][^\n]*\n([^\n]+)/)?.[1];
    return first ? `${first.split(/(?<=[.!?])\s/)[0]} [1]` : 'I could not find this in the sources.';
  },
});
process.stdout.write(`fake OpenAI-compatible provider at ${fake.url}\n`);

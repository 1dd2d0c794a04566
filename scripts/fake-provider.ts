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
    // Sources arrive as <source id="1" ...>text</source>; quote source 1's longest sentence and cite it.
    const source = prompt.match(/<source id="1"[^>]*>([\s\S]*?)<\/source>/)?.[1];
    const sentences = (source ?? '').split(/(?<=[.!?])\s+|\n+/).map((s) => s.trim()).filter(Boolean);
    const best = sentences.sort((a, b) => b.length - a.length)[0];
    return best ? `${best} [1]` : 'I could not find this in the sources.';
  },
});
process.stdout.write(`fake OpenAI-compatible provider at ${fake.url}\n`);

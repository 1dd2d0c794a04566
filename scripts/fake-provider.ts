/**
 * Local fake providers for trying Quire without an API key (the README's walk-through), from the
 * shared test fakes (`@quire/fakes`), so they speak the same wire formats the adapters are tested on:
 * - an OpenAI-compatible server: deterministic embeddings, and chat answers that quote and cite the
 *   first source of a RAG prompt; any other chat gets one canned sentence;
 * - a TEI-shaped server: `/rerank` (and `/embed`), scored by shared words, for provider `tei`.
 *
 *   pnpm fake-provider   # OpenAI on 127.0.0.1:9100 (base URL .../v1), TEI on 9101; FAKE_PROVIDER_PORT moves both
 */
import { pathToFileURL } from 'node:url';
import { startFakeOpenAI, startFakeTei, type FakeOpenAI, type FakeTei } from '@quire/fakes';

/** The fake's answer to a chat that carries no `<source id="1">` (Quire's answers always do). */
export const CANNED_REPLY = 'I could not find this in the sources.';

export interface FakeProvider {
  openai: FakeOpenAI;
  tei: FakeTei;
  close(): Promise<void>;
}

/** Quotes source 1's longest sentence and cites it, as a model answering from its sources would. */
function citeFirstSource(body: { messages: { content: unknown }[] }): string {
  const prompt = body.messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
  // Sources arrive as <source id="1" ...>text</source>.
  const source = prompt.match(/<source id="1"[^>]*>([\s\S]*?)<\/source>/)?.[1];
  const sentences = (source ?? '').split(/(?<=[.!?])\s+|\n+/).map((s) => s.trim()).filter(Boolean);
  const best = sentences.sort((a, b) => b.length - a.length)[0];
  return best ? `${best} [1]` : CANNED_REPLY;
}

/** `port` is the OpenAI fake's; the TEI fake takes `teiPort` (default the next port, or a free one when `port` is 0). */
export async function startFakeProvider(options: { port: number; teiPort?: number }): Promise<FakeProvider> {
  const openai = await startFakeOpenAI({ port: options.port, reply: citeFirstSource });
  const tei = await startFakeTei({ port: options.teiPort ?? (options.port === 0 ? 0 : options.port + 1) }).catch(async (error: unknown) => {
    await openai.close();
    throw error;
  });
  return {
    openai,
    tei,
    close: async () => {
      await Promise.all([openai.close(), tei.close()]);
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const fake = await startFakeProvider({ port: Number(process.env.FAKE_PROVIDER_PORT ?? 9100) });
  process.stdout.write(
    `fake OpenAI-compatible provider at ${fake.openai.url}  (OPENAI_BASE_URL)\n` +
      `fake TEI reranker at ${fake.tei.url}  (TEI_BASE_URL; any model name, e.g. tei/rerank)\n`,
  );
}

import { randomUUID } from 'node:crypto';
import { openTestDatabase } from '@quire/db';
import { startFakeOpenAI, type FakeOpenAI, type ReplyFn } from '@quire/fakes';
import { createLogger } from '@quire/server-kit';
import { formatKey } from '../../services/gateway/src/governance/key-format.js';
import { startQuire, type RunningQuire } from '../../scripts/start-quire.js';

/** Prices used by the end-to-end tests, simple enough to check by hand (USD per million tokens). */
export const TEST_PRICES = {
  'openai/text-embedding-3-small': { input: '0.02', output: '0' },
  'openai/gpt-4o-mini': { input: '0.15', output: '0.6' },
};

/**
 * The fake model answers like a grounded model would: it finds the numbered source that holds the
 * asked-about fact in the prompt and cites it.
 */
export function citingReply(body: { messages: { role: string; content: unknown }[] }): string {
  const prompt = body.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
  // Sources arrive as `<source id="n">` blocks (or `[n]` in older prompts).
  const blocks = prompt.split(/(?=\[\d+\]|<source id="\d+")/);
  const hit = blocks.find((b) => /36 months/.test(b));
  const m = hit?.match(/^(?:\[(\d+)\]|<source id="(\d+)")/);
  const n = m?.[1] ?? m?.[2];
  return n ? `The warranty lasts 36 months [${n}].` : 'The sources do not say.';
}

/** The bootstrap admin key the end-to-end Quire starts with (QUIRE_ADMIN_KEY). */
export const E2E_ADMIN_KEY = formatKey('E2eAdminKey1', 'E2eSecretE2eSecretE2eSecretE2eS1');
export const AUTH: Record<string, string> = { authorization: `Bearer ${E2E_ADMIN_KEY}` };

export interface Harness {
  quire: RunningQuire;
  openai: FakeOpenAI;
  stop(): Promise<void>;
}

/** `reply`: what the fake model says (default citingReply). */
export async function startHarness(options: { redis: boolean; reply?: ReplyFn }): Promise<Harness> {
  const openai = await startFakeOpenAI({ apiKey: 'sk-e2e', reply: options.reply ?? citingReply, dimensions: 64 });
  const db = await openTestDatabase();
  const pricing = Object.fromEntries(Object.entries(TEST_PRICES).map(([k, v]) => [k, { ...v, asOf: 'test', source: 'test' }]));
  const quire = await startQuire({
    db,
    port: 0,
    queueName: `e2e-${randomUUID()}`,
    logger: createLogger({ test: 'e2e' }, 'error'),
    env: {
      OPENAI_API_KEY: 'sk-e2e',
      OPENAI_BASE_URL: openai.url,
      QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai',
      QUIRE_PRICING_JSON: JSON.stringify(pricing),
      QUIRE_ADMIN_KEY: E2E_ADMIN_KEY,
      ...(options.redis ? { REDIS_URL: 'redis://127.0.0.1:6379' } : {}),
    },
  });
  return {
    quire,
    openai,
    async stop() {
      await quire.stop();
      await openai.close();
      await db.close();
    },
  };
}

export async function waitForDocument(baseUrl: string, id: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const doc = ((await (await fetch(`${baseUrl}/v1/documents/${id}`, { headers: AUTH })).json()) as any);
    if (doc.status === 'ready' || doc.status === 'failed') return doc;
    if (Date.now() > deadline) throw new Error(`document ${id} still ${doc.status} after ${timeoutMs} ms: ${JSON.stringify(doc)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

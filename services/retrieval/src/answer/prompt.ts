import type { MessageV1 } from '@quire/models';
import type { RetrievedChunk } from '../search/search-pipeline.js';

export const NO_ANSWER = "I could not find this in the collection's documents.";

export const SYSTEM_PROMPT = [
  'You answer questions using only the numbered sources provided by the user message.',
  'Cite every claim with the number of its source in square brackets, like [1] or [1, 3].',
  'Do not use outside knowledge. If the sources do not contain the answer, say that you do not know',
  `("${NO_ANSWER}") instead of guessing.`,
].join(' ');

/** Characters of source text the prompt may carry (about 3-4k tokens), so any model's context fits. */
export const DEFAULT_SOURCE_BUDGET = 12_000;

export interface BuiltPrompt {
  messages: MessageV1[];
  /** The sources actually in the prompt, in order: source n is `sources[n - 1]`. */
  sources: RetrievedChunk[];
}

function label(chunk: RetrievedChunk): string {
  const parts = [chunk.documentTitle ?? 'Untitled'];
  if (chunk.pageStart !== null) {
    parts.push(chunk.pageEnd !== null && chunk.pageEnd !== chunk.pageStart ? `pages ${chunk.pageStart}-${chunk.pageEnd}` : `page ${chunk.pageStart}`);
  }
  if (chunk.headingPath.length > 0) parts.push(chunk.headingPath.join(' > '));
  return parts.join(', ');
}

/**
 * Numbers the sources in rank order and stops at the budget. The last source that fits only in
 * part is cut (with an ellipsis) rather than dropped, so the best chunk always gets in.
 */
export function buildPrompt(question: string, chunks: RetrievedChunk[], budget = DEFAULT_SOURCE_BUDGET): BuiltPrompt {
  const sources: RetrievedChunk[] = [];
  const blocks: string[] = [];
  let used = 0;
  for (const chunk of chunks) {
    const n = sources.length + 1;
    const head = `[${n}] (${label(chunk)}) `;
    const room = budget - used - head.length;
    if (room < 200 && sources.length > 0) break;
    const text = chunk.text.length <= room ? chunk.text : `${chunk.text.slice(0, Math.max(room - 1, 0))}…`;
    blocks.push(head + text);
    sources.push(chunk);
    used += head.length + text.length;
  }
  const user = `Sources:\n\n${blocks.join('\n\n')}\n\nQuestion: ${question}`;
  return { messages: [{ role: 'system', content: SYSTEM_PROMPT }, { role: 'user', content: user }], sources };
}

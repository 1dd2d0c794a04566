/**
 * Deterministic token counting shared by the fakes: one token per run of letters/digits and one per
 * other non-space character. "Hello, world!" is 4 tokens ("Hello" "," "world" "!"). Real tokenizers
 * differ; tests only need counts that are stable and easy to compute by hand.
 */
const TOKEN = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;

export function countTokens(text: string): number {
  return text.match(TOKEN)?.length ?? 0;
}

/** Splits text into stream deltas of one word each, keeping the spacing so deltas concatenate back. */
export function splitIntoDeltas(text: string): string[] {
  const pieces = text.match(/\s*\S+\s*/g);
  if (!pieces) return text === '' ? [] : [text];
  // Leading whitespace belongs to the first piece only; each piece carries its trailing space.
  return pieces;
}

/** Splits a string into `parts` roughly equal fragments (for streamed tool-call arguments). */
export function splitEvenly(text: string, parts: number): string[] {
  if (text.length === 0) return [''];
  const size = Math.ceil(text.length / parts);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { bpeTokenCount } from './cl100k-bpe.js';

/** tiktoken's pre-tokenizer: BPE never merges across these pieces, so counts add up over them. */
const PRE_TOKEN = new RegExp(cl100k.pat_str, 'gu');
const NON_ASCII = /[^\x00-\x7f]/;
/** Words repeat (Zipf), so most pieces are counted once per process; long ones are not kept. */
const pieceTokens = new Map<string, number>();
const CACHE_LIMIT = 200_000;
const CACHEABLE_PIECE = 64;

function pieceLength(piece: string): number {
  const known = pieceTokens.get(piece);
  if (known !== undefined) return known;
  const n = bpeTokenCount(NON_ASCII.test(piece) ? Buffer.from(piece, 'utf8').toString('latin1') : piece);
  if (piece.length <= CACHEABLE_PIECE) {
    if (pieceTokens.size >= CACHE_LIMIT) pieceTokens.clear();
    pieceTokens.set(piece, n);
  }
  return n;
}

/**
 * cl100k_base token count (OpenAI's embedding models' tokenizer), equal to js-tiktoken's
 * `encode(text).length`. Special-token text such as `<|endoftext|>` counts as the plain text it is
 * (js-tiktoken's `encode` throws on it by default). Sums cached per-piece counts instead of
 * encoding, so counting the same words again costs a regex match and a map lookup each.
 */
export function tokenLength(text: string): number {
  let n = 0;
  PRE_TOKEN.lastIndex = 0;
  for (let m = PRE_TOKEN.exec(text); m !== null; m = PRE_TOKEN.exec(text)) n += pieceLength(m[0]);
  return n;
}

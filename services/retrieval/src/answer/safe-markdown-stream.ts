import { escapedAt, readDestination, sanitizeAnswer, type LinkPolicy } from './output-safety.js';

/** Longest tail the stream holds back; past it the tail is released (see SafeMarkdownStream). */
const MAX_HOLD = 2000;

/**
 * Put between two released pieces that could otherwise join into one construct, in what the client
 * renders only: the answer as stored, cited and returned never carries it (see SafePiece).
 */
export const BREAK = '\u200b';

/**
 * Where a construct that may still be open starts: the last word (a URL, a reference, an escape or
 * `![`/`](` may still grow), the earliest `[` not yet closed, a `[...]` whose `(...)` may still
 * follow or is not closed, and a `<` that may open a tag or autolink.
 */
export function holdFrom(s: string): number {
  let hold = s.length;
  const word = /\S*$/.exec(s);
  if (word) hold = word.index;
  const open: number[] = [];
  let lastClosed = -1;
  let lastClose = -1;
  for (let k = 0; k < s.length; k++) {
    const c = s[k];
    if ((c !== '[' && c !== ']') || escapedAt(s, k)) continue;
    if (c === '[') open.push(k);
    else if (open.length) {
      lastClosed = open.pop()!;
      lastClose = k;
    }
  }
  if (open.length) hold = Math.min(hold, open[0]!);
  if (lastClose >= 0 && (lastClose === s.length - 1 || (s[lastClose + 1] === '(' && readDestination(s, lastClose + 1).end === null))) hold = Math.min(hold, lastClosed);
  const lt = s.lastIndexOf('<');
  if (lt >= 0 && (lt === s.length - 1 || /[A-Za-z/!?]/.test(s[lt + 1]!)) && !s.slice(lt).includes('>')) hold = Math.min(hold, lt);
  if (hold > 0 && hold < s.length && s[hold - 1] === '!') hold -= 1;
  return hold;
}

/** A released piece of a streamed answer. */
export interface SafePiece {
  /** The sanitized text: what the answer (stored, cited, returned) is made of. */
  text: string;
  /**
   * Whether what the client renders must have BREAK right after `text`: the piece was cut at
   * MAX_HOLD, or ends in a character that could join the next piece (`!`, `]`, `\`, `&`, `<`).
   */
  breakAfter: boolean;
}

/**
 * Sanitizes a stream of deltas. Each released piece is sanitized on its own, so a piece is only cut
 * where nothing can join across: before the last word, an open bracket or an open `<` (held back
 * until they close, at most MAX_HOLD characters); a piece whose sanitized text ends in a character
 * that could join the next one, or that was cut at MAX_HOLD, is followed by a zero-width space
 * (BREAK) in what the client renders, and only there.
 */
export class SafeMarkdownStream {
  private pending = '';
  constructor(private readonly policy: LinkPolicy) {}

  /** The next piece that can be released, with whether the client's copy needs BREAK after it. */
  pushPiece(delta: string): SafePiece {
    this.pending += delta;
    const wanted = holdFrom(this.pending);
    const cut = Math.max(wanted, this.pending.length - MAX_HOLD);
    if (cut === 0) return { text: '', breakAfter: false };
    const text = sanitizeAnswer(this.pending.slice(0, cut), this.policy);
    this.pending = this.pending.slice(cut);
    return { text, breakAfter: cut > wanted || /[!\]\\&<]$/.test(text) };
  }

  /** What the client renders of the next piece: its text, and BREAK after it where it needs one. */
  push(delta: string): string {
    const piece = this.pushPiece(delta);
    return piece.breakAfter ? piece.text + BREAK : piece.text;
  }

  /** The rest, sanitized: the stream ended, so nothing follows it to join. */
  flush(): string {
    const rest = sanitizeAnswer(this.pending, this.policy);
    this.pending = '';
    return rest;
  }
}

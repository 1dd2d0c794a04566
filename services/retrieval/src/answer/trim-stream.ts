/**
 * Streams an answer as `String.prototype.trim()` leaves it, so that the deltas of a streamed answer
 * add up to the stored (and non-streamed) answer, and the offsets citations are computed at hold for
 * both: whitespace before the first visible character is dropped, and whitespace after the last one
 * seen is held back until more text follows it (`flush()` drops it: the answer ended there).
 */
export class TrimStream {
  private started = false;
  private held = '';

  push(text: string): string {
    let t = text;
    if (!this.started) {
      t = t.replace(/^\s+/, '');
      if (t === '') return '';
      this.started = true;
    }
    const all = this.held + t;
    // From the end, not with /\s+$/, which is quadratic in a long run of inner whitespace.
    let end = all.length;
    while (end > 0 && /\s/.test(all[end - 1]!)) end--;
    this.held = all.slice(end);
    return all.slice(0, end);
  }

  /** The answer ended: what was held is trailing whitespace, dropped. */
  flush(): string {
    this.held = '';
    return '';
  }
}

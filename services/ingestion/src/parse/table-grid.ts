/**
 * Tables of DOCX and HTML as Markdown rows, with merged cells laid out on the table's grid.
 *
 * Laying out repeats text (a vertically merged cell in every row it covers) and adds cells (spans,
 * rows padded to the widest), so a hostile table could grow many times over: `rowspan="65534"`
 * with `colspan="1000"`, or one wide row over a hundred thousand narrow ones. A table whose layout
 * would be more than GROWTH times its text as written is read as written instead, cell after cell.
 */
const GROWTH = 8;
const SLACK = 256;

const size = (row: readonly string[]) => row.reduce((n, c) => n + c.length + 3, 1);

export class TableGrid {
  private readonly written: string[][] = [];
  private readonly laid: string[][] = [];
  private writtenSize = 0;
  private laidSize = 0;
  private laidOut = true;

  /** Whether the rows laid out so far are within bounds; once not, `add` needs no laid-out row. */
  get fits(): boolean {
    return this.laidOut;
  }

  private within(laidSize: number): boolean {
    return laidSize <= GROWTH * this.writtenSize + SLACK;
  }

  /** A row: its cells' own text, and the same row laid out on the grid (spans expanded). */
  add(written: string[], laid?: string[]): void {
    this.written.push(written);
    this.writtenSize += size(written);
    if (!this.laidOut) return;
    if (laid) {
      this.laid.push(laid);
      this.laidSize += size(laid);
    }
    if (!laid || !this.within(this.laidSize)) {
      this.laidOut = false;
      this.laid.length = 0;
    }
  }

  get length(): number {
    return this.written.length;
  }

  /**
   * Markdown rows: laid-out rows all as wide as the widest, so every value sits under its own
   * header, or, past the bounds, the rows as written. The first row is the header when there are
   * at least `headerFrom` rows.
   */
  markdown(headerFrom: number): string[] {
    let rows = this.laidOut ? this.laid : this.written;
    const width = rows.reduce((w, r) => Math.max(w, r.length), 0);
    const padded = this.laidSize + rows.reduce((n, r) => n + (width - r.length) * 3, 0);
    if (this.laidOut && !this.within(padded)) rows = this.written;
    else if (this.laidOut) rows = rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ''));
    const lines = rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
    if (lines.length >= headerFrom && lines.length > 0) lines.splice(1, 0, `| ${Array.from({ length: rows[0]!.length }, () => '---').join(' | ')} |`);
    return lines;
  }
}

import { outlineHeadings } from './pdf-outline.js';

describe('outline headings', () => {
  it("look for at most 64 entries' titles among one page's lines; the rest start at the page's top", () => {
    // A hostile outline aims many entries at one long page: each search scans the page's lines.
    const lines = Array.from({ length: 100 }, (_, i) => ({ page: 1, offset: 1000 + i * 20, text: `Section ${i}`, size: 11, y: 800 - i, blockStart: true }));
    const entries = Array.from({ length: 70 }, (_, i) => ({ title: `Section ${i}`, level: 1, page: 1, top: null }));
    const marks = outlineHeadings(entries, lines, [{ num: 1, start: 0, end: 3000 }]);
    const offsetOf = (title: string) => marks.find((m) => m.title === title)?.offset;
    expect(offsetOf('Section 10')).toBe(1200);
    expect(offsetOf('Section 63')).toBe(1000 + 63 * 20);
    expect(offsetOf('Section 64')).toBe(0);
    expect(offsetOf('Section 69')).toBe(0);
  });
});

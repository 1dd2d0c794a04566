import type { RetrievedChunk } from '../search/search-pipeline.js';
import { CitationStreamFilter, extractCitations, figuresSupported, MAX_MARKER_LIST, pickQuote, QUOTE_MAX, rewriteMarkers, sectionPathAtChunkOffset } from './citations.js';

const chunk = (id: string, text: string, page: number): RetrievedChunk => ({
  chunkId: id,
  documentId: `doc-${id}`,
  documentTitle: `Title ${id}`,
  text,
  pageStart: page,
  pageEnd: page,
  headingPath: [],
  charStart: 0,
  charEnd: text.length,
  rank: 1,
  score: 1,
  scores: {},
});

describe('citation markers', () => {
  test('invalid numbers are dropped, empty markers removed with their blank', () => {
    expect(rewriteMarkers('A [1]. B [9]. C [2, 9]. D [3,1].', 2)).toBe('A [1]. B. C [2]. D [1].');
    expect(rewriteMarkers('Line [0]\n[4] next', 2)).toBe('Line\n next');
  });

  test('the stream filter gives the same text whatever the split', () => {
    const full = 'Tide is at 5pm [1] and boats [9] leave [1, 7] at dawn [2].';
    const expected = rewriteMarkers(full, 2);
    for (const size of [1, 2, 3, 5, 8]) {
      const filter = new CitationStreamFilter(2);
      let out = '';
      for (let i = 0; i < full.length; i += size) out += filter.push(full.slice(i, i + size));
      out += filter.flush();
      expect(out).toBe(expected);
    }
  });

  const streamed = (pieces: string[], sources: number) => {
    const filter = new CitationStreamFilter(sources);
    return pieces.map((p) => filter.push(p)).join('') + filter.flush();
  };

  test('a long marker split across deltas is rewritten as a whole, as without streaming', () => {
    const pieces = ['Tides vary [1, 2, 3, 4, 5, 6, 1', '0, 11, 12', '].'];
    expect(streamed(pieces, 6)).toBe('Tides vary [1, 2, 3, 4, 5, 6].');
    expect(streamed(pieces, 6)).toBe(rewriteMarkers(pieces.join(''), 6));
    // One character per delta: the marker is never released half-way.
    const full = `See ${'[' + Array.from({ length: 30 }, (_, i) => i + 1).join(', ') + ']'} and [40].`;
    expect(streamed([...full], 6)).toBe(rewriteMarkers(full, 6));
    expect(rewriteMarkers(full, 6)).toBe('See [1, 2, 3, 4, 5, 6] and.');
  });

  test('an unclosed bracket list is released as text once longer than a marker can be', () => {
    const open = `[${'1, '.repeat(MAX_MARKER_LIST)}`;
    const filter = new CitationStreamFilter(6);
    expect(filter.push('Numbers: ')).toBe('Numbers:');
    const released = filter.push(open);
    expect(released.length).toBeGreaterThan(MAX_MARKER_LIST);
    // Too long to be a marker: plain text, with or without streaming, and not a citation.
    const full = `Numbers: ${open.slice(0, -2)}] end.`;
    expect(streamed([...full], 6)).toBe(full);
    expect(rewriteMarkers(full, 6)).toBe(full);
    expect(extractCitations(full, [chunk('a', 'x', 1)])).toEqual([]);
  });

  test('citations map to sources in order of first mention with the best-overlapping quote', () => {
    const sources = [chunk('a', 'Boats leave at dawn. High tide is at 5pm on Tuesdays.', 3), chunk('b', 'Roses are pruned in winter.', 7)];
    const citations = extractCitations('Roses are pruned in winter [2]. High tide comes at 5pm. [1]', sources);
    expect(citations.map((c) => [c.index, c.chunk_id, c.page])).toEqual([
      [2, 'b', 7],
      [1, 'a', 3],
    ]);
    expect(citations[1]!.quote).toBe('High tide is at 5pm on Tuesdays.');
  });

  test("a sentence naming a table's columns is supported by a chunk of its rows under that header; the quote stays in the rows", () => {
    const rows = { ...chunk('t', '| North | 12 | 14 |\n| South | 9 | 11 |', 2), context: '| Region | Revenue Q1 | Revenue Q2 |\n| --- | --- | --- |' };
    const [citation] = extractCitations('The table gives revenue by region for Q1 and Q2 [1].', [rows]);
    expect(citation!.supported).toBe(true);
    expect(citation!.quote).not.toContain('Region');
    const bare = extractCitations('The table gives revenue by region for Q1 and Q2 [1].', [chunk('t', rows.text, 2)]);
    expect(bare[0]!.supported).toBe(false);
  });

  const ZH = '设备政策。每台笔记本电脑都有硬件保修。办公室的打印机由行政部统一管理，耗材每月补充一次。会议室需要提前在系统中预订！食堂每天中午十一点半开放；晚餐从下午五点半开始供应。出差报销须在返回后十五个工作日内提交，并附上原始发票。使用VPN连接公司网络时必须开启双重认证。公司笔记本电脑的保修期为自交付之日起四十八个月。员工停车场位于地下二层？';

  test('Chinese: full-width sentence ends split the chunk, so the quote is the sentence holding the cited fact', () => {
    const [c] = extractCitations('公司笔记本电脑的保修期为四十八个月[1]。', [chunk('z', ZH, 1)]);
    expect(c!.quote).toBe('公司笔记本电脑的保修期为自交付之日起四十八个月。');
    expect(ZH.slice(c!.quote_start, c!.quote_end)).toBe(c!.quote);
    expect(c!.supported).toBe(true);
  });

  test('Chinese: each sentence of the answer cites its own source, a marker after 。 cites the sentence before it', () => {
    const sources = [chunk('z', ZH, 1), chunk('y', '晚餐从下午五点半开始供应。午餐从十一点半开始。', 2)];
    const citations = extractCitations('保修期为四十八个月。[1]晚餐五点半开始供应[2]。使用VPN连接时须开启双重认证[1]！', sources);
    expect(citations.map((c) => [c.index, c.quote])).toEqual([
      [1, expect.stringMatching(/四十八个月|双重认证/)],
      [2, '晚餐从下午五点半开始供应。'],
    ]);
    // Source 1 is cited by two sentences: the quote is one of them, never the printer or canteen sentence.
    expect(citations[0]!.quote).not.toMatch(/打印机|食堂/);
  });

  test('Japanese: 。 and ！？ end sentences (full-width and half-width ｡)', () => {
    const ja = '会社概要です｡ノートパソコンの保証期間は四十八か月です。プリンターは総務部が管理します！';
    expect(pickQuote(ja, 'ノートパソコンの保証期間は四十八か月')).toBe('ノートパソコンの保証期間は四十八か月です。');
  });

  test('quotes are at most 240 characters', () => {
    const quote = pickQuote('word '.repeat(200), 'word');
    expect(quote.length).toBeLessThanOrEqual(QUOTE_MAX);
    expect(quote.endsWith('…')).toBe(true);
  });
});

describe('what a citation points at', () => {
  const doc = 'Intro line.\n\n# Handbook\n\n## 1. Hours\n\nWork starts at nine every weekday.\n\n## 2. Leave\n\n### 2.1 Vacation\n\nEveryone gets 25 vacation days a year.\n';
  const start = doc.indexOf('# Handbook');
  const text = doc.slice(start);
  const handbook: RetrievedChunk = {
    ...chunk('h', text, 1),
    charStart: start,
    charEnd: doc.length,
    headingPath: ['Handbook', '1. Hours'],
    sections: [
      { at: text.indexOf('## 2. Leave'), heading_path: ['Handbook', '2. Leave'] },
      { at: text.indexOf('### 2.1'), heading_path: ['Handbook', '2. Leave', '2.1 Vacation'] },
    ],
  };

  test('the section and offsets are those of the quoted sentence, not of the chunk start', () => {
    const [vacation] = extractCitations('Staff get 25 vacation days per year [1].', [handbook]);
    expect(vacation).toMatchObject({ heading_path: ['Handbook', '2. Leave', '2.1 Vacation'], quote: 'Everyone gets 25 vacation days a year.', supported: true });
    expect(doc.slice(vacation!.quote_start, vacation!.quote_end)).toBe(vacation!.quote);
    const [hours] = extractCitations('Work starts at nine on weekdays [1].', [handbook]);
    expect(hours).toMatchObject({ heading_path: ['Handbook', '1. Hours'], quote: 'Work starts at nine every weekday.' });
    // Chunks stored before sections were recorded keep their own path.
    const [old] = extractCitations('Staff get 25 vacation days per year [1].', [{ ...handbook, sections: undefined }]);
    expect(old!.heading_path).toEqual(['Handbook', '1. Hours']);
  });

  test('sectionPathAtChunkOffset reads the chunk\'s stored section marks at an offset inside the chunk', () => {
    expect(sectionPathAtChunkOffset(handbook, 0)).toEqual(['Handbook', '1. Hours']);
    expect(sectionPathAtChunkOffset(handbook, text.indexOf('## 2. Leave'))).toEqual(['Handbook', '2. Leave']);
    expect(sectionPathAtChunkOffset(handbook, text.indexOf('Everyone'))).toEqual(['Handbook', '2. Leave', '2.1 Vacation']);
    expect(sectionPathAtChunkOffset({ ...handbook, sections: undefined }, text.length)).toEqual(['Handbook', '1. Hours']);
  });

  test('a figure none of the cited sources states makes the citation unsupported, however many words match', () => {
    const [wrong] = extractCitations('Everyone gets 40 vacation days a year [1].', [handbook]);
    expect(wrong!.supported).toBe(false);
    const table = chunk('t', '| Item | Refresh cycle | Budget (EUR) |\n| --- | --- | --- |\n| Laptop | 36 months | 2,000 |\n| Monitor | 48 months | 400 |', 1);
    const [monitor] = extractCitations('Monitors are refreshed every 48 months with a budget of EUR 400 [1].', [table]);
    // The row with the figures, not the header that names the columns.
    expect(monitor).toMatchObject({ quote: '| Monitor | 48 months | 400 |', supported: true });
    const [madeUp] = extractCitations('Monitors have a budget of EUR 9,999 and are refreshed every 12 months [1].', [table]);
    expect(madeUp!.supported).toBe(false);
    // A sentence citing two sources may take its figures from either; thousands separators do not matter.
    const other = chunk('o', 'Laptops cost 2000 euros at most.', 1);
    const [first] = extractCitations('Monitors last 48 months and laptops cost 2000 euros [1, 2].', [table, other]);
    expect(first!.supported).toBe(true);
    expect(figuresSupported('It costs 9,999 euros.', ['priced at 9999'])).toBe(true);
    expect(figuresSupported('No figures here.', ['anything'])).toBe(true);
  });
});

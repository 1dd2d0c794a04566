import { chunkText, type ChunkDraft } from '../chunk/chunk-text.js';
import { makeStructuredPdf, type FixtureLine } from '../testing/pdf-heading-fixtures.js';
import { DEFAULT_PARSE_LIMITS, parseDocument } from './parse-document.js';

type Style = 'sized' | 'outlined' | 'plain';

/**
 * A 14-page report. `sized`: headings set larger than the 11 pt body, no outline. `outlined`: every
 * line in body type, headings bookmarked. `plain`: body type, no outline: only the numbering tells.
 */
function report(style: Style): FixtureLine[][] {
  const h = (text: string, level: number, size: number): FixtureLine => ({
    text,
    gap: true,
    size: style === 'sized' ? size : 11,
    ...(style === 'outlined' ? { outline: level } : {}),
  });
  const body = (topic: string, n = 4) => Array.from({ length: n }, (_, i) => `Paragraph ${i + 1} about ${topic} goes on for a while here.`);
  const filler = (page: number) => body(`page ${page} of the background`);
  // Running heads. Sized: "Field notes" in 14 pt atop pages 3 to 14, a size between the chapters'
  // and the sections'. Plain: "3 Methods" atop page 11 only (too few pages to be seen as furniture;
  // it repeats a heading in force), and a footer that starts with the page number on every page.
  const runningHead = (page: number): FixtureLine[] =>
    style === 'sized' && page >= 3 ? [{ text: 'Field notes', size: 14 }] : style === 'plain' && page === 11 ? ['3 Methods'] : [];
  const pages: FixtureLine[][] = [
    [{ text: 'Quire Field Study', size: style === 'sized' ? 24 : 11 }, 'A study of how teams search their notes.'],
    [h('Contents', 1, 16), '1 Introduction 3', '2 Background 4', '2.1 Prior work 5', '3 Methods 9', '3.1 Setup 10', '3.2 Results 11', '4 Discussion 13'],
    [...runningHead(3), h('1 Introduction', 1, 16), ...body('the motivation')],
    [...runningHead(4), h('2 Background', 1, 16), ...body('the field')],
    [...runningHead(5), h('2.1 Prior work', 2, 13), ...body('earlier systems')],
    [...runningHead(6), ...filler(6)],
    [...runningHead(7), ...filler(7)],
    [...runningHead(8), ...filler(8)],
    [...runningHead(9), h('3 Methods', 1, 16), ...body('the method')],
    [...runningHead(10), h('3.1 Setup', 2, 13), 'Every team received the same laptop and the same notes.', ...body('the setup')],
    [...runningHead(11), 'The devices were calibrated before the first session.', h('3.2 Results', 2, 13), 'Recall rose for every team in the first week.', ...body('the gains')],
    [...runningHead(12), 'The results continue on page twelve with the recall table.', ...body('the recall table')],
    [...runningHead(13), h('4 Discussion', 1, 16), ...body('what it means')],
    [...runningHead(14), h('Acknowledgements', 1, 16), ...body('our helpers'), 'We thank the teams who lent us their notes.'],
  ];
  return style === 'plain' ? pages.map((lines, i) => [...lines, { text: `${i + 1} Quire Field Study`, gap: true }]) : pages;
}

async function chunksOf(style: Style): Promise<ChunkDraft[]> {
  const parsed = await parseDocument(await makeStructuredPdf(report(style)), 'application/pdf', DEFAULT_PARSE_LIMITS);
  expect(parsed.pagesTotal).toBe(14);
  const chunks = await chunkText(parsed, { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 });
  for (const c of chunks) expect(parsed.text.slice(c.charStart, c.charEnd)).toBe(c.text);
  return chunks;
}

function at(chunks: ChunkDraft[], needle: string): { pages: [number | null, number | null]; path: string[] } {
  const c = chunks.find((x) => x.text.includes(needle));
  if (!c) throw new Error(`no chunk holds "${needle}"`);
  return { pages: [c.pageStart, c.pageEnd], path: c.headingPath };
}

describe('PDF heading paths', () => {
  test('larger type gives headings; numbers give their depth, and a section runs on over later pages', async () => {
    const chunks = await chunksOf('sized');
    const title = 'Quire Field Study';
    // The title is set larger than the chapters, so it heads the whole document.
    expect(at(chunks, 'search their notes').path).toEqual([title]);
    // Contents lines end with page numbers: they are not headings.
    expect(at(chunks, '3.2 Results 11').path).toEqual([title, 'Contents']);
    expect(at(chunks, 'about earlier systems')).toEqual({ pages: [5, 5], path: [title, '2 Background', '2.1 Prior work'] });
    expect(at(chunks, 'page 7 of the background')).toEqual({ pages: [7, 7], path: [title, '2 Background', '2.1 Prior work'] });
    expect(at(chunks, 'devices were calibrated')).toEqual({ pages: [11, 11], path: [title, '3 Methods', '3.1 Setup'] });
    // A chunk is under the headings in force where it starts; this one starts after "3.2 Results".
    expect(at(chunks, 'Paragraph 4 about the gains')).toEqual({ pages: [11, 11], path: [title, '3 Methods', '3.2 Results'] });
    expect(at(chunks, 'continue on page twelve')).toEqual({ pages: [12, 12], path: [title, '3 Methods', '3.2 Results'] });
    expect(at(chunks, 'what it means').path).toEqual([title, '4 Discussion']);
    // Unnumbered, but set like the chapters: a chapter-level heading.
    expect(at(chunks, 'lent us their notes').path).toEqual([title, 'Acknowledgements']);
  });

  test('the outline (bookmarks) gives headings even in body type, placed at their line on the page', async () => {
    const chunks = await chunksOf('outlined');
    expect(at(chunks, 'search their notes').path).toEqual([]);
    expect(at(chunks, 'about earlier systems').path).toEqual(['2 Background', '2.1 Prior work']);
    // "3.2 Results" is bookmarked mid-page: the text above it is still under 3.1.
    expect(at(chunks, 'devices were calibrated')).toEqual({ pages: [11, 11], path: ['3 Methods', '3.1 Setup'] });
    expect(at(chunks, 'Paragraph 4 about the gains')).toEqual({ pages: [11, 11], path: ['3 Methods', '3.2 Results'] });
    expect(at(chunks, 'continue on page twelve')).toEqual({ pages: [12, 12], path: ['3 Methods', '3.2 Results'] });
    // Found only through the outline: no number, no larger type.
    expect(at(chunks, 'lent us their notes').path).toEqual(['Acknowledgements']);
  });

  test('in body type without an outline, numbered section lines are headings; running heads do not restart them', async () => {
    const chunks = await chunksOf('plain');
    expect(at(chunks, 'search their notes').path).toEqual([]);
    expect(at(chunks, '3.2 Results 11').path).toEqual([]);
    expect(at(chunks, 'about the motivation').path).toEqual(['1 Introduction']);
    expect(at(chunks, 'about earlier systems').path).toEqual(['2 Background', '2.1 Prior work']);
    expect(at(chunks, 'devices were calibrated')).toEqual({ pages: [11, 11], path: ['3 Methods', '3.1 Setup'] });
    expect(at(chunks, 'Paragraph 4 about the gains')).toEqual({ pages: [11, 11], path: ['3 Methods', '3.2 Results'] });
    expect(at(chunks, 'continue on page twelve')).toEqual({ pages: [12, 12], path: ['3 Methods', '3.2 Results'] });
    // Nothing marks an unnumbered heading in body type, so the section before it goes on.
    expect(at(chunks, 'lent us their notes').path).toEqual(['4 Discussion']);
  });

  test('numeric lines, lists, tables, contents lines, footnotes and sentences are not headings', async () => {
    // Real sections 1, 2, 2.1 and 3 give every trap a number that would fit in; prose between the
    // traps keeps each one apart, so each rule is tried on its own.
    const pdf = await makeStructuredPdf([
      [
        { text: '1 Overview', gap: true },
        'The board met in March.',
        { text: '2023 revenue grew', gap: true },
        'Costs stayed flat.',
        { text: '12 months', gap: true },
        'Prices held.',
        { text: '12 Months', gap: true },
        'Growth slowed.',
        { text: '4.5 Million Users Served', gap: true },
        'Sales rose.',
        { text: '1 Apples', gap: true },
        '2 Pears',
        '3 Plums',
        { text: 'Region Q1 Q2 Q3', gap: true },
        '2 North 120 130 Yes',
        'Figures are in thousands.',
      ],
      [
        { text: '2 Details', gap: true },
        { text: 'Support was free for everyone within the first', gap: true },
        '2 Months of service were included at no cost',
        { text: 'Chapter 4 describes the method', gap: true },
        'It is short.',
        { text: 'Appendix B lists the data', gap: true },
        'It is long.',
        { text: '2.1 Scope', gap: true },
        'The scope is small.',
        { text: '3 Notes ........ ix', gap: true },
        'Contents end here.',
        { text: '2 Details 4', gap: true },
        'Contents really end here.',
        { text: 'Steps to follow', gap: true },
        '1. Open the app',
        '2. Sign in',
        { text: 'Footnotes follow.', gap: true },
        { text: '2 Data from the 2020 census', size: 8, gap: true },
      ],
      [{ text: '3 Notes', gap: true }, 'Closing words.'],
    ]);
    const parsed = await parseDocument(pdf, 'application/pdf', DEFAULT_PARSE_LIMITS);
    expect(parsed.text).toContain('2 Months of service');
    expect(parsed.headings!.map((h) => h.title)).toEqual(['1 Overview', '2 Details', '2.1 Scope', '3 Notes']);
    const chunks = await chunkText(parsed, { strategy: 'recursive', chunk_size: 80, chunk_overlap: 0 });
    expect(at(chunks, '12 Months').path).toEqual(['1 Overview']);
    expect(at(chunks, 'Sign in')).toEqual({ pages: [2, 2], path: ['2 Details', '2.1 Scope'] });
  });

  test('chapter and appendix lines are headings, and lettered sections sit under their appendix', async () => {
    const pdf = await makeStructuredPdf([
      [{ text: 'Chapter 1: Getting Started', gap: true }, 'Install the app first.', { text: '1.1 Accounts', gap: true }, 'Every user needs an account.'],
      [{ text: 'Appendix A', gap: true }, 'Reference tables follow.', { text: 'A.1 Limits', gap: true }, 'Uploads are capped at 50 MB.'],
    ]);
    const parsed = await parseDocument(pdf, 'application/pdf', DEFAULT_PARSE_LIMITS);
    const chunks = await chunkText(parsed, { strategy: 'recursive', chunk_size: 40, chunk_overlap: 0 });
    expect(at(chunks, 'needs an account').path).toEqual(['Chapter 1: Getting Started', '1.1 Accounts']);
    expect(at(chunks, 'capped at 50 MB')).toEqual({ pages: [2, 2], path: ['Appendix A', 'A.1 Limits'] });
  });
});

import { attr, childVal } from './docx-xml.js';

/** A paragraph's list: `w:numPr` on the paragraph or on its style. */
export interface NumberingRef {
  numId: string;
  ilvl?: number;
}

export interface ParagraphStyles {
  /** Heading level (1 = Heading 1), 0 for the Title style, undefined for body text. */
  heading(styleId: string): number | undefined;
  numbering(styleId: string): NumberingRef | undefined;
}

interface Style {
  name: string;
  basedOn?: string;
  outline?: number;
  numId?: string;
  ilvl?: number;
}

// Style chains are short; the cap only stops a file whose styles are based on each other in a loop.
const MAX_CHAIN = 16;

/**
 * Heading levels and list numbering of word/styles.xml's paragraph styles. Both are inherited
 * through `w:basedOn`, so a custom style based on "Heading 1" is a level-1 heading.
 */
export function paragraphStyles(stylesXml: string | null): ParagraphStyles {
  const styles = new Map<string, Style>();
  for (const m of (stylesXml ?? '').matchAll(/<w:style\b([^>]*)>([\s\S]*?)<\/w:style>/g)) {
    const id = attr(m[1]!, 'w:styleId');
    if (!id) continue;
    const body = m[2]!;
    const outline = childVal(body, 'w:outlineLvl');
    const ilvl = childVal(body, 'w:ilvl');
    styles.set(id, {
      name: childVal(body, 'w:name')?.toLowerCase() ?? '',
      basedOn: childVal(body, 'w:basedOn'),
      outline: outline === undefined ? undefined : Number(outline),
      numId: childVal(body, 'w:numId'),
      ilvl: ilvl === undefined ? undefined : Number(ilvl),
    });
  }

  const heading = (id: string, depth = 0): number | undefined => {
    const style = styles.get(id);
    if (!style) {
      // Files without styles.xml (or without this style in it) still use the built-in ids.
      if (/^title$/i.test(id)) return 0;
      const n = /^heading(\d)$/i.exec(id)?.[1];
      return n ? Number(n) : undefined;
    }
    if (style.name === 'title') return 0;
    const byName = /^heading (\d)$/.exec(style.name)?.[1];
    if (byName) return Number(byName);
    // Outline level 9 is "body text": it ends the chain instead of inheriting a heading.
    if (style.outline !== undefined) return style.outline < 9 ? style.outline + 1 : undefined;
    return style.basedOn && depth < MAX_CHAIN ? heading(style.basedOn, depth + 1) : undefined;
  };

  const numbering = (id: string, depth = 0): NumberingRef | undefined => {
    const style = styles.get(id);
    if (!style) return undefined;
    if (style.numId !== undefined) return { numId: style.numId, ilvl: style.ilvl };
    return style.basedOn && depth < MAX_CHAIN ? numbering(style.basedOn, depth + 1) : undefined;
  };

  return { heading: (id) => heading(id), numbering: (id) => numbering(id) };
}

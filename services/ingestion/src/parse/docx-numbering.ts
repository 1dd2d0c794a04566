import { attr, childVal } from './docx-xml.js';

interface Level {
  format: string;
  start: number;
}

interface Num {
  levels: Map<number, Level>;
  /** `w:lvlOverride/w:startOverride`: how Word restarts a list that reuses another's definition. */
  starts: Map<number, number>;
}

export interface ListNumbering {
  /**
   * The Markdown marker of the next item of list `numId` at level `ilvl` ("-" or "3."), counting
   * it; null where the level shows no marker (format "none") or the list is not defined.
   */
  marker(numId: string, ilvl: number): string | null;
}

const levelsOf = (xml: string): Map<number, Level> => {
  const levels = new Map<number, Level>();
  for (const m of xml.matchAll(/<w:lvl\b([^>]*)>([\s\S]*?)<\/w:lvl>/g)) {
    const ilvl = Number(attr(m[1]!, 'w:ilvl'));
    const start = Number(childVal(m[2]!, 'w:start') ?? 1);
    if (Number.isInteger(ilvl)) levels.set(ilvl, { format: childVal(m[2]!, 'w:numFmt') ?? 'decimal', start: Number.isFinite(start) ? start : 1 });
  }
  return levels;
};

/**
 * word/numbering.xml: `w:num` -> `w:abstractNumId` -> `w:lvl` formats and start values. Numbers
 * run per list (numId) and level; an item resets the levels below it, as Word does by default.
 * Every numbered format is written with digits, since Markdown knows no other ordered marker.
 */
export function listNumbering(numberingXml: string | null): ListNumbering {
  const abstracts = new Map<string, Map<number, Level>>();
  const nums = new Map<string, Num>();
  if (numberingXml) {
    for (const m of numberingXml.matchAll(/<w:abstractNum\b([^>]*)>([\s\S]*?)<\/w:abstractNum>/g)) {
      const id = attr(m[1]!, 'w:abstractNumId');
      if (id !== undefined) abstracts.set(id, levelsOf(m[2]!));
    }
    for (const m of numberingXml.matchAll(/<w:num\b([^>]*)>([\s\S]*?)<\/w:num>/g)) {
      const id = attr(m[1]!, 'w:numId');
      const levels = abstracts.get(childVal(m[2]!, 'w:abstractNumId') ?? '');
      if (id === undefined || !levels) continue;
      const starts = new Map<number, number>();
      for (const o of m[2]!.matchAll(/<w:lvlOverride\b([^>]*)>([\s\S]*?)<\/w:lvlOverride>/g)) {
        const start = Number(childVal(o[2]!, 'w:startOverride'));
        if (Number.isFinite(start)) starts.set(Number(attr(o[1]!, 'w:ilvl')), start);
      }
      nums.set(id, { levels, starts });
    }
  }
  const counters = new Map<string, number[]>();
  return {
    marker(numId, ilvl) {
      const num = nums.get(numId);
      const level = num?.levels.get(ilvl);
      if (!num || !level || level.format === 'none') return null;
      const counts = counters.get(numId) ?? [];
      counters.set(numId, counts);
      counts.length = Math.min(counts.length, ilvl + 1);
      counts[ilvl] = (counts[ilvl] ?? (num.starts.get(ilvl) ?? level.start) - 1) + 1;
      return level.format === 'bullet' ? '-' : `${counts[ilvl]}.`;
    },
  };
}

import { crc32, deflateSync } from 'node:zlib';
import { PDFDocument, PDFName, StandardFonts } from 'pdf-lib';

/** A real PDF with one page per entry, each page's lines drawn top to bottom. */
export async function makePdf(pages: string[][]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([612, 792]);
    lines.forEach((line, i) => page.drawText(line, { x: 50, y: 740 - i * 18, size: 11, font }));
  }
  return doc.save();
}

export const GUIDE_MARKDOWN = `# Guide

Quire keeps a team's knowledge searchable. This guide walks through setting it up.

## Install

Run the installer and accept the defaults. The installer creates a data folder next to the binary.
It never touches system folders, and it can be removed by deleting that folder.

### Requirements

You need Node 20 or later and about 200 MB of disk space for the embedded database.

## Configure

Set QUIRE_PORT to change the port. Providers are configured with their usual environment variables,
for example OPENAI_API_KEY, and every call is metered by the gateway.

\`\`\`bash
# not a heading: this is a shell comment inside a code fence
export QUIRE_PORT=8080
\`\`\`

## Troubleshooting

If the service does not start, read the log line that says which setting is invalid.
`;

/** A two-column page: each line of the left and right column drawn at the same heights. */
/** A small grey PNG (8-bit greyscale, a diagonal stripe): what a scanner's page image is, in miniature. */
export function makePng(width = 64, height = 64): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, deflate, no filter, no interlace
  const rows = Buffer.alloc((width + 1) * height, 255);
  for (let y = 0; y < height; y++) {
    rows[y * (width + 1)] = 0; // filter type: none
    for (let x = 0; x < width; x++) if (Math.abs(x - y) < 4) rows[y * (width + 1) + 1 + x] = 40;
  }
  return new Uint8Array(Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]));
}

/** Two columns drawn interleaved, then extra pages: `blank` shows nothing, `scan` only an image (no text layer). */
export async function makeTwoColumnPdf(left: string[], right: string[], extraPages: ('blank' | 'scan')[] = []): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const page = doc.addPage([612, 792]);
  // Drawn interleaved (left line, right line, ...) the way many layouts emit them.
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    if (left[i]) page.drawText(left[i]!, { x: 50, y: 740 - i * 16, size: 10, font });
    if (right[i]) page.drawText(right[i]!, { x: 330, y: 740 - i * 16, size: 10, font });
  }
  for (const kind of extraPages) {
    const extra = doc.addPage([612, 792]);
    if (kind === 'scan') extra.drawImage(await doc.embedPng(makePng()), { x: 0, y: 0, width: 612, height: 792 });
  }
  return doc.save();
}

/**
 * A PDF that "never ends" for a parser: one page whose content stream holds millions of text
 * operators, deflated to a few hundred kilobytes (pdf.js needs many seconds and much memory).
 */
export async function makeEndlessPdf(operators = 3_000_000): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const page = doc.addPage([612, 792]);
  const content = Buffer.from('BT /F1 10 Tf 50 700 Td (x) Tj ET\n'.repeat(operators));
  page.node.set(PDFName.of('Contents'), doc.context.register(doc.context.flateStream(content)));
  page.node.set(PDFName.of('Resources'), doc.context.obj({ Font: doc.context.obj({ F1: font.ref }) }));
  return doc.save();
}

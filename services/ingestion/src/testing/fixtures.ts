import { PDFDocument, StandardFonts } from 'pdf-lib';

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

/** Writes a small three-page PDF for the README's walk-through: `pnpm sample-pdf handbook.pdf`. */
import { writeFileSync } from 'node:fs';
import { PDFDocument, StandardFonts } from 'pdf-lib';

const pages = [
  ['Company handbook', 'This handbook describes how the company organises its teams.'],
  ['Chapter 2: Equipment', 'The warranty period for company laptops is 36 months from delivery.'],
  ['Chapter 3: Travel', 'Book trains two weeks ahead. Hotels must be approved by a manager.'],
];
const pdf = await PDFDocument.create();
const font = await pdf.embedFont(StandardFonts.Helvetica);
for (const lines of pages) {
  const page = pdf.addPage([612, 792]);
  lines.forEach((line, i) => page.drawText(line, { x: 50, y: 740 - i * 18, size: 12, font }));
}
const out = process.argv[2] ?? 'handbook.pdf';
writeFileSync(out, await pdf.save());
process.stdout.write(`wrote ${out}\n`);

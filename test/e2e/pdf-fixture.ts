import { PDFDocument, StandardFonts } from 'pdf-lib';

/** A real multi-page PDF, one paragraph (several lines) per page, made in the test. */
export async function makePdf(pages: string[][]): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = pdf.addPage([612, 792]);
    lines.forEach((line, i) => page.drawText(line, { x: 50, y: 740 - i * 18, size: 12, font }));
  }
  return Buffer.from(await pdf.save());
}

import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PDFParse } from 'pdf-parse';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
test('pglite vector', async () => {
  const db = await PGlite.create({ extensions: { vector } });
  await db.exec('create extension if not exists vector');
  const r = await db.query<{ d: number }>(`select '[1,2,3]'::vector <=> '[1,2,4]'::vector as d`);
  expect(r.rows[0]!.d).toBeGreaterThan(0);
  await db.close();
  expect(typeof PDFParse).toBe('function');
  const s = new RecursiveCharacterTextSplitter({ chunkSize: 10, chunkOverlap: 0 });
  expect((await s.splitText('hello world this is text')).length).toBeGreaterThan(1);
});

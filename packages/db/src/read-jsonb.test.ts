import { z } from 'zod';
import { openPGlite } from './pglite-db.js';
import { JsonbColumnError, readJsonb, safeReadJsonb } from './read-jsonb.js';

const MarksSchema = z.array(z.object({ at: z.number().int(), heading_path: z.array(z.string()) }));

describe('readJsonb', () => {
  test('parses a string (json as text) and validates it', () => {
    expect(readJsonb(MarksSchema, '[{"at":3,"heading_path":["A","B"]}]', 'chunks.marks')).toEqual([{ at: 3, heading_path: ['A', 'B'] }]);
  });

  test('validates an already-parsed value as it is', () => {
    const value = [{ at: 0, heading_path: [] }];
    expect(readJsonb(MarksSchema, value, 'chunks.marks')).toEqual(value);
  });

  test('passes SQL NULL to the schema, which decides', () => {
    expect(readJsonb(MarksSchema.nullable(), null, 'chunks.marks')).toBeNull();
    expect(() => readJsonb(MarksSchema, null, 'chunks.marks')).toThrow(JsonbColumnError);
  });

  test('a value of another shape throws a JsonbColumnError naming the column and the path', () => {
    let error: unknown;
    try {
      readJsonb(MarksSchema, [{ at: 'x', heading_path: [] }], 'chunks.marks');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JsonbColumnError);
    const e = error as JsonbColumnError;
    expect(e.code).toBe('invalid_stored_json');
    expect(e.column).toBe('chunks.marks');
    expect(e.message).toMatch(/^Stored chunks\.marks is not valid: /);
    expect(e.issues[0]?.path).toEqual([0, 'at']);
  });

  test('text that is not JSON throws a JsonbColumnError too', () => {
    expect(() => readJsonb(MarksSchema, '[{', 'chunks.marks')).toThrow(/Stored chunks\.marks is not valid: not JSON/);
  });

  test('safeReadJsonb returns the error for call sites that fall back', () => {
    const bad = safeReadJsonb(MarksSchema, '{"at":1}', 'chunks.marks');
    expect(bad.success).toBe(false);
    if (!bad.success) expect(bad.error).toBeInstanceOf(JsonbColumnError);
    expect(safeReadJsonb(MarksSchema, '[]', 'chunks.marks')).toEqual({ success: true, data: [] });
  });

  test('reads json, jsonb and text from PGlite alike', async () => {
    const db = await openPGlite();
    try {
      const r = await db.query<{ j: unknown; jb: unknown; t: unknown }>(
        `SELECT '[{"at":1,"heading_path":["H"]}]'::json AS j, '[{"at":1,"heading_path":["H"]}]'::jsonb AS jb, '[{"at":1,"heading_path":["H"]}]'::text AS t`,
      );
      const row = r.rows[0]!;
      for (const value of [row.j, row.jb, row.t]) expect(readJsonb(MarksSchema, value, 'test')).toEqual([{ at: 1, heading_path: ['H'] }]);
    } finally {
      await db.close();
    }
  });
});

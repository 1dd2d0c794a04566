import { AppError } from '@quire/server-kit';
import { detectType } from './detect-type.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return AppError.is(error) ? error.code : 'other';
  }
  return 'none';
};

describe('detectType', () => {
  test('decides by content, using the name only to tell Markdown from text', () => {
    expect(detectType(bytes('%PDF-1.7\n...'), 'report.txt').mime).toBe('application/pdf');
    expect(detectType(bytes('plain words'), 'notes.md').mime).toBe('text/markdown');
    expect(detectType(bytes('# Title\n\nbody'), 'upload.bin', 'application/octet-stream').mime).toBe('text/markdown');
    expect(detectType(bytes('just text'), 'a.txt', 'text/plain').mime).toBe('text/plain');
  });

  test('refuses binary, non-UTF-8 and empty input with the right codes', () => {
    expect(codeOf(() => detectType(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]), 'pic.txt'))).toBe('unsupported_media_type');
    expect(codeOf(() => detectType(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0]), 'doc.docx'))).toBe('unsupported_media_type');
    expect(codeOf(() => detectType(new Uint8Array([0xc3, 0x28, 0x41]), 'latin.txt'))).toBe('unsupported_media_type');
    expect(codeOf(() => detectType(new Uint8Array([]), 'empty.txt'))).toBe('invalid_request');
    expect(codeOf(() => detectType(bytes('  \n\t '), 'blank.txt'))).toBe('invalid_request');
  });
});

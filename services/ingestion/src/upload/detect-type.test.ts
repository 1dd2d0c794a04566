import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AppError } from '@quire/server-kit';
import { makeDocx, makeZip } from '../testing/docx-fixtures.js';
import { DOCX_MIME, detectType } from './detect-type.js';
import { fastestMs } from '../testing/fastest-ms.js';

const fixture = (name: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../testing/text-files/${name}`, import.meta.url))));

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
    expect(detectType(fixture('npm-install.md'), 'upload.bin', 'application/octet-stream').mime).toBe('text/markdown');
    expect(detectType(bytes('just text'), 'a.txt', 'text/plain').mime).toBe('text/plain');
  });

  test('refuses binary, non-UTF-8 and empty input with the right codes', () => {
    expect(codeOf(() => detectType(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]), 'pic.txt'))).toBe('unsupported_media_type');
    expect(codeOf(() => detectType(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0]), 'doc.docx'))).toBe('unsupported_media_type');
    expect(codeOf(() => detectType(new Uint8Array([0xc3, 0x28, 0x41]), 'latin.txt'))).toBe('unsupported_media_type');
    expect(codeOf(() => detectType(new Uint8Array([]), 'empty.txt'))).toBe('invalid_request');
    expect(codeOf(() => detectType(bytes('  \n\t '), 'blank.txt'))).toBe('invalid_request');
  });

  test('a .txt name or a text/plain type keeps plain text, whatever `#` lines it has', () => {
    const copyright = fixture('rust-docs-COPYRIGHT.txt');
    expect(detectType(copyright, 'COPYRIGHT-7fb11f4e.txt').mime).toBe('text/plain');
    expect(detectType(copyright, 'copyright', 'text/plain').mime).toBe('text/plain');
    expect(detectType(fixture('tslib-readme-crlf.md'), 'notes.txt', 'text/plain; charset=utf-8').mime).toBe('text/plain');
    // The name or type saying Markdown still decides.
    expect(detectType(copyright, 'COPYRIGHT.md').mime).toBe('text/markdown');
    expect(detectType(copyright, 'x.txt', 'text/markdown').mime).toBe('text/markdown');
  });

  test('with nothing said about the type, `# ` comment lines are not Markdown; a titled text, or headings with other Markdown syntax, are', () => {
    expect(detectType(bytes('# comment\nkey = 1\n# another\nother = 2\n')).mime).toBe('text/plain');
    expect(detectType(bytes('Intro\n\n# not at the start\n\nbody')).mime).toBe('text/plain');
    // Sections: headings with blank lines around them, after an opening paragraph.
    expect(detectType(bytes('Our travel rules.\n\n## Booking\n\nBook early.\n\n## Refunds\n\nKeep receipts.\n')).mime).toBe('text/markdown');
    expect(detectType(bytes('# comment\nkey = 1\n\n# another\nother = 2\n')).mime).toBe('text/plain');
    // Opening with a title line and a blank line: a titled document (wiki pages sent as JSON text).
    expect(detectType(bytes('# Title\n\nbody')).mime).toBe('text/markdown');
    expect(detectType(bytes('\r\n## Title\r\n\r\nbody')).mime).toBe('text/markdown');
    // So a licence file that opens the same way is Markdown when nothing names it: its .txt name keeps it text (above).
    expect(detectType(fixture('rust-docs-COPYRIGHT.txt')).mime).toBe('text/markdown');
    expect(detectType(fixture('npm-install.md')).mime).toBe('text/markdown');
    expect(detectType(fixture('tslib-readme-crlf.md'), 'README').mime).toBe('text/markdown');
  });

  test('XHTML with an XML prolog, HTML after comments, and fragments in .html files are HTML', () => {
    expect(detectType(fixture('libxslt-templates.html'), 'libxslt-templates.html').mime).toBe('text/html');
    expect(detectType(fixture('libxslt-templates.html')).mime).toBe('text/html');
    expect(detectType(bytes('\uFEFF<?xml version="1.0"?>\n<!-- generated -->\n<html xmlns="http://www.w3.org/1999/xhtml"><body>x</body></html>')).mime).toBe('text/html');
    expect(detectType(bytes('<!-- a --><!-- b -->\n<body><p>x</p></body>')).mime).toBe('text/html');
    const fragment = fixture('rust-version_info.html');
    expect(detectType(fragment, 'version_info.html').mime).toBe('text/html');
    expect(detectType(fragment, 'page', 'text/html; charset=utf-8').mime).toBe('text/html');
    // A fragment with nothing saying HTML is text, and so is a .html file that does not start with a tag.
    expect(detectType(fragment, 'version_info.txt').mime).toBe('text/plain');
    expect(detectType(bytes('Use <b> for bold.'), 'tips.html').mime).toBe('text/plain');
    // Other XML is not HTML.
    expect(detectType(bytes('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'), 'x.svg').mime).toBe('text/plain');
  });

  test('content still decides over the name', () => {
    expect(detectType(bytes('%PDF-1.4\n<html>'), 'page.html').mime).toBe('application/pdf');
    expect(detectType(bytes('Notes on the %PDF-1.7 header.\n'), 'notes.pdf').mime).toBe('text/plain');
    expect(codeOf(() => detectType(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]), 'pic.html', 'text/html'))).toBe('unsupported_media_type');
  });

  test('a file sent as .docx that is not a Word document is refused as a broken Word file, not with a list that offers Word', () => {
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return AppError.is(error) ? { code: error.code, message: error.message } : error;
      }
      return 'accepted';
    };
    const sheet = makeZip([{ name: 'xl/workbook.xml', data: '<workbook/>' }]);
    const random = new Uint8Array(Array.from({ length: 256 }, (_, i) => (i * 151 + 7) % 256));
    expect(refusal(() => detectType(sheet, 'x.docx'))).toEqual({
      code: 'unsupported_media_type',
      message: "'x.docx' is not a readable Word document (no word/document.xml; a damaged file, or another ZIP format renamed): re-save it as .docx from Word or LibreOffice.",
    });
    expect(refusal(() => detectType(random, 'x.DOCX'))).toEqual({
      code: 'unsupported_media_type',
      message: "'x.DOCX' is not a readable Word document (a .docx is a ZIP archive; this is not one): re-save it as .docx from Word or LibreOffice.",
    });
    // The declared type says Word too, whatever the name.
    expect(refusal(() => detectType(random, 'upload.bin', `${DOCX_MIME}; charset=binary`))).toMatchObject({ message: expect.stringMatching(/^'upload\.bin' is not a readable Word document/) });
    expect(refusal(() => detectType(new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0, 1]), 'old.docx'))).toMatchObject({ message: expect.stringContaining('it looks like a legacy Office file') });
    // Not sent as Word: the generic refusal, which no longer offers .docx as an example of an unsupported ZIP.
    const zip = refusal(() => detectType(sheet, 'book.xlsx')) as { message: string };
    expect(zip.message).toMatch(/^'book\.xlsx' looks like a ZIP archive that is not a Word document \(e\.g\. \.zip, \.xlsx, \.pptx\), which is not supported yet\./);
    // Text named .docx is still read by its content, like any other misnamed text.
    expect(detectType(bytes('plain words'), 'notes.docx').mime).toBe('text/plain');
    expect(detectType(makeDocx([{ text: 'hi' }]), 'real.docx').mime).toBe(DOCX_MIME);
  });

  test('a .csv with a header and rows is CSV, one column too; one row is not enough for the CSV parser', () => {
    expect(detectType(bytes('email\na@example.com\nb@example.com\n'), 'emails.csv').mime).toBe('text/csv');
    expect(detectType(bytes('name,city\r\n"Robbins, Arnold",MyTown\r\n'), 'people.csv').mime).toBe('text/csv');
    expect(detectType(bytes('Robbins,Arnold,"1234 A Pretty Street, NE",MyTown\n'), 'addresses.csv').mime).toBe('text/plain');
  });
});


const utf16le = (s: string) => new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]));
const utf16be = (s: string) => new Uint8Array([0xfe, 0xff, ...Buffer.from(s, 'utf16le').swap16()]);
const messageOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  return 'none';
};

describe('detectType on text that is not UTF-8', () => {
  test('UTF-16 with a byte order mark (Excel "Unicode Text", PowerShell `>`) is read and typed from its text', () => {
    expect(detectType(utf16le('Meeting notes\r\nWe agreed to ship on Friday.\r\n'), 'notes.txt').mime).toBe('text/plain');
    expect(detectType(utf16be('Meeting notes\nWe agreed.\n'), 'notes.txt').mime).toBe('text/plain');
    expect(detectType(utf16le('Region\tSales\r\nNorth\t1,5\r\n'), 'sales.csv').mime).toBe('text/csv');
    expect(detectType(utf16le('<!doctype html><html><body><p>Hi</p></body></html>'), 'page.bin').mime).toBe('text/html');
    expect(detectType(utf16le('# Title\n\nBody with ü and 字.'), 'doc').mime).toBe('text/markdown');
    // Text sent as .docx is read as text, whatever its encoding.
    expect(detectType(utf16le('just text'), 'letter.docx').mime).toBe('text/plain');
  });

  test('UTF-16 that is blank, invalid or binary is refused, saying so', () => {
    expect(codeOf(() => detectType(utf16le(' \r\n\t'), 'blank.txt'))).toBe('invalid_request');
    // A lone surrogate, an odd byte count, a NUL character (binary data behind a BOM).
    for (const bad of [new Uint8Array([0xff, 0xfe, 0x00, 0xd8, 0x41, 0x00]), new Uint8Array([0xff, 0xfe, 0x41, 0x00, 0x42]), utf16le('a\0b')]) {
      expect(codeOf(() => detectType(bad, 'x.txt'))).toBe('unsupported_media_type');
      expect(messageOf(() => detectType(bad, 'x.txt'))).toMatch(/UTF-16 byte order mark but is not valid UTF-16 text.*Save it as UTF-8/);
    }
  });

  test('text in an 8-bit code page (Windows-1252 CSV from Excel) is refused with what it probably is and how to fix it', () => {
    const cp1252 = new Uint8Array(Buffer.from('Name;Stadt\r\nM\u00fcller;K\u00f6ln\r\nCaf\u00e9;Z\u00fcrich\r\n', 'latin1'));
    expect(codeOf(() => detectType(cp1252, 'kunden.csv'))).toBe('unsupported_media_type');
    expect(messageOf(() => detectType(cp1252, 'kunden.csv'))).toMatch(/^'kunden\.csv' is not UTF-8 text: .*probably Windows-1252.*Save it as UTF-8 \(in Excel: "CSV UTF-8"/);
  });

  test('UTF-16 without a byte order mark is named as such; binary without a known signature gets the generic refusal', () => {
    const bare = new Uint8Array(Buffer.from('Meeting notes\r\nWe agreed to ship on Friday.\r\n', 'utf16le'));
    expect(messageOf(() => detectType(bare, 'notes.txt'))).toMatch(/looks like UTF-16 text without a byte order mark.*Save it as UTF-8/);
    const binary = new Uint8Array(Array.from({ length: 512 }, (_, i) => (i * 37 + 11) % 256));
    expect(messageOf(() => detectType(binary, 'blob.txt'))).toMatch(/is neither a PDF nor valid UTF-8 or UTF-16 text\. Supported types/);
    // Text whose NUL comes past the first 4 KB read: binary, not an 8-bit encoding.
    const nulLate = new Uint8Array([...bytes('plain words '.repeat(500)), 0, 1, 2]);
    expect(messageOf(() => detectType(nulLate, 'dump.txt'))).toMatch(/is neither a PDF nor valid UTF-8 or UTF-16 text/);
  });

  test('a large UTF-16 upload is checked a piece at a time, never decoded whole in the request handler', () => {
    const upload = utf16le(`Notes\n\n# One\n\nbody\n\n# Two\n\n${'word '.repeat(1_000_000)}`);
    const decode = TextDecoder.prototype.decode;
    let largest = 0;
    TextDecoder.prototype.decode = function (this: InstanceType<typeof TextDecoder>, ...args: Parameters<typeof decode>) {
      largest = Math.max(largest, (args[0] as ArrayBufferView | undefined)?.byteLength ?? 0);
      return decode.apply(this, args);
    };
    try {
      expect(detectType(upload, 'notes').mime).toBe('text/markdown');
      expect(codeOf(() => detectType(new Uint8Array([...upload, 0x00, 0xd8]), 'late.txt'))).toBe('unsupported_media_type');
    } finally {
      TextDecoder.prototype.decode = decode;
    }
    expect(largest).toBeLessThanOrEqual(65_536);
  });
});

describe('detectType reads only the start of a large upload as text', () => {
  test('it never decodes the whole upload into a string (one more copy of it in the request handler)', () => {
    const upload = bytes(`Notes\n\n# One\n\nbody\n\n# Two\n\n${'word '.repeat(2_000_000)}`);
    const decode = TextDecoder.prototype.decode;
    let largest = 0;
    TextDecoder.prototype.decode = function (this: InstanceType<typeof TextDecoder>, ...args: Parameters<typeof decode>) {
      largest = Math.max(largest, (args[0] as ArrayBufferView | undefined)?.byteLength ?? 0);
      return decode.apply(this, args);
    };
    try {
      expect(detectType(upload, 'notes').mime).toBe('text/markdown');
      expect(() => detectType(new Uint8Array(upload.length).fill(0x20), 'blank.txt')).toThrow('contains only whitespace');
    } finally {
      TextDecoder.prototype.decode = decode;
    }
    expect(largest).toBeLessThanOrEqual(400_000);
  });

  test('whitespace and types past the first pieces read are judged as before', () => {
    const blank = `\uFEFF${' '.repeat(70_000)}\u3000\n\u00A0${'\t'.repeat(70_000)}\u2029`;
    expect(codeOf(() => detectType(bytes(blank), 'blank.txt'))).toBe('invalid_request');
    expect(detectType(bytes(`${' '.repeat(70_000)}\u3000x`), 'late.txt').mime).toBe('text/plain');
    // Three-byte characters: the checks still see their first 100,000 characters.
    const wide = `# 标题\n\n${'字'.repeat(99_990)}\n\n## 二\n\n正文\n\n## 三\n\n正文`;
    expect(detectType(bytes(wide), 'notes').mime).toBe('text/markdown');
    expect(detectType(bytes(`${'字'.repeat(200_000)}\n`), 'notes').mime).toBe('text/plain');
    // Invalid UTF-8 anywhere, also far past the start, is still refused.
    expect(codeOf(() => detectType(new Uint8Array([...bytes('a'.repeat(500_000)), 0xc3, 0x28]), 'late.txt'))).toBe('unsupported_media_type');
  });
});

describe('detectType on crafted uploads (it runs in the request handler: a slow pattern blocks every request)', () => {
  // Generous for a busy machine; the patterns this replaced took 16-25 s on the first two uploads.
  const BOUND_MS = 200;
  const detect = (text: string) => detectType(bytes(text), 'notes', 'application/octet-stream').mime;

  test('the uploads from the security review are quick and typed as before', () => {
    const spaced = `#${' '.repeat(49_990)}x${' '.repeat(49_990)}#a\nfoo\n`;
    const brackets = `# a\nx\n# b\ny\n${'['.repeat(99_900)}`;
    expect(fastestMs(() => detect(spaced), BOUND_MS)).toBeLessThan(BOUND_MS);
    expect(fastestMs(() => detect(brackets), BOUND_MS)).toBeLessThan(BOUND_MS);
    expect(detect(spaced)).toBe('text/plain');
    expect(detect(brackets)).toBe('text/plain');
  });

  // A megabyte of one character after two headings, so every Markdown check reads it; links and
  // targets repeated so that every `[` and `(` starts a candidate.
  test.each([' ', '#', '[', '(', '|', '`', '-', '=', '*', '_', '<', '[a](', '](', '[a](b ', '**a', '|-', '<!--'])('a megabyte of %j is typed in linear time', (run) => {
    const slow: string[] = [];
    for (const end of ['', ')', '\rx', ' #a']) {
      const text = `# a\nx\n# b\ny\n${run.repeat(Math.ceil(1_000_000 / run.length))}${end}`;
      const ms = fastestMs(() => detect(text), BOUND_MS);
      if (ms < BOUND_MS) continue;
      // One slow case is enough (the patterns this replaced took a minute on some of these).
      slow.push(`${JSON.stringify(run)} + ${JSON.stringify(end)}: ${Math.round(ms)} ms`);
      break;
    }
    expect(slow).toEqual([]);
  });

  test('inline links and images still count as Markdown syntax; brackets alone do not', () => {
    const twoHeadings = '# a\nx\n# b\ny\n';
    expect(detect(`${twoHeadings}See [the docs](https://example.com/docs).`)).toBe('text/markdown');
    expect(detect(`${twoHeadings}![logo](logo.png)`)).toBe('text/markdown');
    expect(detect(`${twoHeadings}[[nested]](x) and [a](b[c](d)`)).toBe('text/markdown');
    expect(detect(`${twoHeadings}[a] (b) and [a](b c) and [](x) and [a]()`)).toBe('text/plain');
    expect(detect(`${twoHeadings}[a\n](b)`)).toBe('text/plain');
  });
});

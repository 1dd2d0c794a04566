import { contentTypeCharset, htmlDeclaredCharset, htmlTitle, titleFromUrl, toUtf8, withoutTrackingParameters } from './url-document.js';

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('withoutTrackingParameters', () => {
  it('drops utm_*, click ids and mailing ids, keeps the other parameters as written', () => {
    expect(withoutTrackingParameters('https://example.com/blog/2024/parental-leave/?utm_source=newsletter&utm_medium=email&utm_campaign=may&fbclid=IwAR0xyz')).toBe(
      'https://example.com/blog/2024/parental-leave/',
    );
    expect(withoutTrackingParameters('https://example.com/p?id=7&gclid=abc&q=a%20b+c&mc_cid=1&mc_eid=2&UTM_Term=x&msclkid=z#part')).toBe('https://example.com/p?id=7&q=a%20b+c#part');
    expect(withoutTrackingParameters('https://example.com/search?q=utm_source&page=2')).toBe('https://example.com/search?q=utm_source&page=2');
    expect(withoutTrackingParameters('https://example.com/x')).toBe('https://example.com/x');
  });
});

describe('titleFromUrl', () => {
  it("is the path's last segment, a slug read as words, without an extension; the host for a bare domain", () => {
    expect(titleFromUrl('https://example.com/blog/2024/parental-leave/')).toBe('parental leave');
    expect(titleFromUrl('https://example.com/docs/Annual_Report%202024.pdf')).toBe('Annual Report 2024');
    expect(titleFromUrl('https://example.com/')).toBe('example.com');
    expect(titleFromUrl('https://example.com/bad%zz/')).toBe('bad%zz');
  });
});

describe('htmlTitle', () => {
  const page = (html: string) => Buffer.from(html, 'utf8');
  it("reads the page's <title>, else its first <h1>, entities decoded and whitespace collapsed", () => {
    expect(htmlTitle(page('<!doctype html><html><head><title>\n  New parental &amp; leave\tpolicy </title></head><body><h1>Other</h1></body></html>'))).toBe('New parental & leave policy');
    expect(htmlTitle(page('<html><head><title> </title></head><body><nav>Menu</nav><h1>Speise<em>plan</em></h1><h1>Second</h1></body></html>'))).toBe('Speiseplan');
    expect(htmlTitle(page('<html><body><svg><title>icon</title></svg><p>No heading.</p></body></html>'))).toBeNull();
    expect(htmlTitle(page(`<title>${'x'.repeat(600)}</title>`))).toHaveLength(500);
  });

  it('reads a UTF-16 page by its byte order mark (left undecoded when its Content-Type is not text)', () => {
    const utf16le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<html><head><title>Reiserichtlinie</title></head></html>', 'utf16le')]);
    expect(htmlTitle(utf16le)).toBe('Reiserichtlinie');
  });
});

describe('charsets', () => {
  const latin1Page = Buffer.from('<!doctype html><html><head><meta charset="iso-8859-1"><title>Kantine</title></head><body><p>Käsespätzle, Grüne Soße.</p></body></html>', 'latin1');

  it('reads the Content-Type charset and the charset a page names in its first bytes', () => {
    expect(contentTypeCharset('text/html; charset=ISO-8859-1')).toBe('ISO-8859-1');
    expect(contentTypeCharset('text/html;charset="windows-1252"')).toBe('windows-1252');
    expect(contentTypeCharset('text/html')).toBeNull();
    expect(htmlDeclaredCharset(latin1Page)).toBe('iso-8859-1');
    expect(htmlDeclaredCharset(Buffer.from('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'))).toBe('windows-1252');
    expect(htmlDeclaredCharset(Buffer.from('<?xml version="1.0" encoding="ISO-8859-15"?><html>'))).toBe('ISO-8859-15');
  });

  it('decodes a page to UTF-8 by the declared charset: header, else <meta charset>', () => {
    const byHeader = toUtf8(latin1Page, 'text/html; charset=ISO-8859-1');
    expect(byHeader.decodedFrom).toBe('windows-1252');
    expect(utf8(byHeader.bytes)).toContain('Käsespätzle, Grüne Soße.');
    const byMeta = toUtf8(latin1Page, 'text/html');
    expect(utf8(byMeta.bytes)).toContain('Käsespätzle, Grüne Soße.');
    expect(utf8(toUtf8(latin1Page, null).bytes)).toContain('Grüne Soße');
    // windows-1252's own characters in 0x80-0x9F (Node 20's TextDecoder reads them as Latin-1's C1 controls).
    expect(utf8(toUtf8(Buffer.from([0x80, 0x20, 0x35, 0x20, 0x93, 0x71, 0x94, 0x20, 0x96, 0x81]), 'text/plain; charset=windows-1252').bytes)).toBe('€ 5 \u201cq\u201d \u2013\u0081');
    expect(utf8(toUtf8(Buffer.from([0x93, 0x71, 0x94]), 'text/plain; charset=ISO-8859-1').bytes)).toBe('\u201cq\u201d');
    const sjis = toUtf8(Buffer.from([0x93, 0xfa, 0x96, 0x7b]), 'text/plain; charset=Shift_JIS');
    expect(utf8(sjis.bytes)).toBe('日本');
  });

  it('keeps bytes that are UTF-8 already, non-text types, and unknown labels as they came', () => {
    const page = Buffer.from('<html><head><meta charset="iso-8859-1"></head><body>Grüße</body></html>', 'utf8');
    // Servers often declare ISO-8859-1 by default for pages written in UTF-8: read as Latin-1, every accent would double.
    expect(toUtf8(page, 'text/html; charset=ISO-8859-1')).toEqual({ bytes: page, decodedFrom: null });
    const pdf = Buffer.from('%PDF-1.4 \xe9', 'latin1');
    expect(toUtf8(pdf, 'application/pdf; charset=ISO-8859-1').bytes).toBe(pdf);
    // An unknown label counts as none: the page's own <meta charset> decides, else the bytes stay.
    expect(utf8(toUtf8(latin1Page, 'text/html; charset=x-unknown-8bit').bytes)).toContain('Grüne Soße');
    const bare = Buffer.from('Grüße', 'latin1');
    expect(toUtf8(bare, 'text/plain; charset=x-unknown-8bit').bytes).toBe(bare);
  });

  it('decodes UTF-16 by its byte-order mark or a declared charset', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Grüße', 'utf16le')]);
    expect(utf8(toUtf8(le, 'text/plain').bytes)).toBe('Grüße');
    expect(utf8(toUtf8(Buffer.from('Hi', 'utf16le'), 'text/plain; charset=utf-16le').bytes)).toBe('Hi');
  });
});

/**
 * Character references a Markdown renderer decodes to ASCII. Output hygiene (output-safety.ts)
 * decodes them before it looks for syntax, so `https&#58;//` or `&lsqb;x&rsqb;` is judged as the
 * renderer will read it.
 */

// Named references that decode to ASCII (HTML5's list); every other one decodes to a non-ASCII
// character, which cannot form Markdown syntax, a scheme or a plain host.
export const ASCII_NAMED: Readonly<Record<string, string>> = {
  Tab: '\t', NewLine: '\n', excl: '!', quot: '"', QUOT: '"', num: '#', dollar: '$', percnt: '%', amp: '&', AMP: '&',
  apos: "'", lpar: '(', rpar: ')', ast: '*', midast: '*', plus: '+', comma: ',', period: '.', sol: '/', colon: ':',
  semi: ';', lt: '<', LT: '<', equals: '=', gt: '>', GT: '>', quest: '?', commat: '@', lsqb: '[', lbrack: '[',
  bsol: '\\', rsqb: ']', rbrack: ']', Hat: '^', lowbar: '_', UnderBar: '_', grave: '`', DiacriticalGrave: '`',
  lcub: '{', lbrace: '{', verbar: '|', vert: '|', VerticalLine: '|', rcub: '}', rbrace: '}', fjlig: 'fj',
};

const CHAR_REF = /&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,7})|([A-Za-z][A-Za-z0-9]{1,31}));/g;

/** Decodes the character references a renderer would decode to ASCII (`&#58;`, `&colon;`); `&amp;` stays. */
export function decodeAsciiReferences(s: string): string {
  return s.replace(CHAR_REF, (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name !== undefined) return name === 'amp' || name === 'AMP' ? whole : (Object.hasOwn(ASCII_NAMED, name) ? ASCII_NAMED[name]! : whole);
    const code = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    // NUL is U+FFFD to a renderer, and non-ASCII characters cannot form syntax: both stay as written.
    return code > 0 && code < 0x80 ? String.fromCharCode(code) : whole;
  });
}

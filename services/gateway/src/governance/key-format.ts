import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `qk_live_<id>_<secret>_<check>`: a fixed prefix secret scanners can match, a
 * 12-character public id (the database key), a 32-character random secret (~190 bits) and a
 * 6-character CRC-32 of everything before it, so a typo or a truncated paste is refused without a
 * database lookup. Only SHA-256 of the secret is stored: the secret is high-entropy, so a slow
 * password hash would add latency to every request and no security.
 */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_PREFIX = 'qk_live_';
const KEY_PATTERN = /^qk_live_([0-9A-Za-z]{12})_([0-9A-Za-z]{32})_([0-9A-Za-z]{6})$/;
/** Longer Authorization headers are refused before any parsing. */
export const MAX_AUTH_HEADER = 200;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function base62(value: number, width: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < width; i++) {
    out = ALPHABET[v % 62]! + out;
    v = Math.floor(v / 62);
  }
  return out;
}

function randomBase62(length: number): string {
  // Rejection sampling keeps every character uniform (256 is not a multiple of 62).
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export interface ParsedKey {
  id: string;
  secret: string;
}

export type ParseFailure = 'malformed' | 'checksum';

export function parseKey(text: string): ParsedKey | ParseFailure {
  const m = KEY_PATTERN.exec(text);
  if (!m) return 'malformed';
  const check = base62(crc32(`${KEY_PREFIX}${m[1]}_${m[2]}`), 6);
  return check === m[3] ? { id: m[1]!, secret: m[2]! } : 'checksum';
}

export function formatKey(id: string, secret: string): string {
  const body = `${KEY_PREFIX}${id}_${secret}`;
  return `${body}_${base62(crc32(body), 6)}`;
}

export function newKey(): { id: string; secret: string; key: string } {
  const id = randomBase62(12);
  const secret = randomBase62(32);
  return { id, secret, key: formatKey(id, secret) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** What may appear in logs and lists: the prefix and public id, never the secret. */
export function redactKey(id: string): string {
  return `${KEY_PREFIX}${id}_…`;
}

/**
 * Whether a key has expired at `now` (ms since the epoch): from its `expires_at` on, not only after.
 * The one check for authentication, the work a key started (Authenticator.policyOf), the admin view's
 * `status` and a new key's expiry.
 */
export function isExpired(row: { expires_at: string | null }, now: number): boolean {
  return row.expires_at !== null && Date.parse(row.expires_at) <= now;
}

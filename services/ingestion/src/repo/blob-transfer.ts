/**
 * Document bytes cross the driver as base64 text, converted by Postgres (`decode($n, 'base64')`,
 * `encode(bytes, 'base64')`). PGlite's own bytea handling formats and parses hex one byte at a
 * time in JavaScript: about 20 to 50 ms for a 50 KB PDF on the thread the database also runs on,
 * more than the whole index transaction of its chunks costs per page. Node's base64 is native, and
 * the text is a third shorter than hex. node-postgres accepts the same SQL unchanged.
 */
export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** Postgres breaks base64 into 76-character lines; Node's decoder skips the line breaks. */
export const fromBase64 = (text: string): Uint8Array => {
  const b = Buffer.from(text, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

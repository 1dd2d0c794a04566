import { inflateRawSync } from 'node:zlib';
import { LIMIT_SETTING, mebibytes } from '../limits.js';
import { ParseError } from './extracted-text.js';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localOffset: number;
}

export interface ZipLimits {
  maxZipEntries: number;
  maxUncompressedBytes: number;
}

function expandsTooFar(maxBytes: number): ParseError {
  return new ParseError(`The archive expands to more than ${mebibytes(maxBytes)} (the limit, ${LIMIT_SETTING.maxUncompressedBytes}); refusing a possible zip bomb.`, {
    limit: { name: 'maxUncompressedBytes', value: maxBytes },
  });
}

/**
 * A bounded ZIP reader (enough for OOXML). The central directory is read and checked against the
 * entry-count and total-size caps before anything is inflated, and inflation itself is capped
 * with `maxOutputLength`, so an archive that lies about its sizes still cannot expand past the
 * budget (a zip bomb fails fast instead of filling memory).
 */
export function openZip(bytes: Uint8Array, limits: ZipLimits) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ParseError('The file is not a readable ZIP archive (no central directory).');
  const count = buf.readUInt16LE(eocd + 10);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw new ParseError('ZIP64 archives are not supported.');
  if (count > limits.maxZipEntries) {
    throw new ParseError(`The archive has ${count} entries; the limit is ${limits.maxZipEntries} (${LIMIT_SETTING.maxZipEntries}).`, { limit: { name: 'maxZipEntries', value: limits.maxZipEntries } });
  }
  const entries = new Map<string, ZipEntry>();
  let declared = 0;
  let at = cdOffset;
  for (let n = 0; n < count; n++) {
    if (at + 46 > buf.length || buf.readUInt32LE(at) !== 0x02014b50) throw new ParseError('The ZIP central directory is corrupt.');
    const nameLen = buf.readUInt16LE(at + 28);
    const entry: ZipEntry = {
      method: buf.readUInt16LE(at + 10),
      compressedSize: buf.readUInt32LE(at + 20),
      uncompressedSize: buf.readUInt32LE(at + 24),
      name: buf.toString('utf8', at + 46, at + 46 + nameLen),
      localOffset: buf.readUInt32LE(at + 42),
    };
    declared += entry.uncompressedSize;
    if (declared > limits.maxUncompressedBytes) {
      throw expandsTooFar(limits.maxUncompressedBytes);
    }
    entries.set(entry.name, entry);
    at += 46 + nameLen + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  let inflated = 0;
  return {
    names: () => [...entries.keys()],
    has: (name: string) => entries.has(name),
    /** Inflates one entry, counting against the whole archive's budget. */
    read(name: string): Buffer {
      const e = entries.get(name);
      if (!e) throw new ParseError(`The archive has no ${name}.`);
      if (buf.readUInt32LE(e.localOffset) !== 0x04034b50) throw new ParseError(`The ZIP entry ${name} is corrupt.`);
      const start = e.localOffset + 30 + buf.readUInt16LE(e.localOffset + 26) + buf.readUInt16LE(e.localOffset + 28);
      const data = buf.subarray(start, start + e.compressedSize);
      const budget = limits.maxUncompressedBytes - inflated;
      let out: Buffer;
      if (e.method === 0) out = Buffer.from(data);
      else if (e.method === 8) {
        try {
          out = inflateRawSync(data, { maxOutputLength: Math.max(1, budget) });
        } catch (error) {
          const tooBig = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError;
          throw tooBig ? expandsTooFar(limits.maxUncompressedBytes) : new ParseError(`The ZIP entry ${name} could not be inflated.`);
        }
      } else throw new ParseError(`The ZIP entry ${name} uses an unsupported compression method (${e.method}).`);
      inflated += out.length;
      if (out.length > budget) throw expandsTooFar(limits.maxUncompressedBytes);
      return out;
    },
  };
}

/**
 * Exact decimal arithmetic on strings, backed by BigInt. Money never goes through floats: a float
 * sum of 1000 costs of 0.1 drifts, a BigInt sum does not.
 */
interface Scaled {
  units: bigint;
  scale: number;
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

export function isDecimalString(value: string): boolean {
  return DECIMAL.test(value);
}

function parseDecimalUncached(value: string): Scaled {
  const match = DECIMAL.exec(value.trim());
  if (!match) throw new RangeError(`"${value}" is not a decimal number`);
  const fraction = match[3] ?? '';
  const units = BigInt(match[2] + fraction);
  return { units: match[1] ? -units : units, scale: fraction.length };
}

// Prices are a few hundred distinct strings parsed on every metered call: parse each once.
const parsed = new Map<string, Readonly<Scaled>>();

export function parseDecimal(value: string): Scaled {
  let hit = parsed.get(value);
  if (!hit) {
    hit = Object.freeze(parseDecimalUncached(value));
    if (parsed.size < 10_000) parsed.set(value, hit);
  }
  return hit;
}

function rescale(value: Scaled, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

/** Formats with at least `minScale` fraction digits; never rounds. */
export function formatDecimal(units: bigint, scale: number, minScale = 0): string {
  let s = scale;
  let u = units;
  if (s < minScale) {
    u *= 10n ** BigInt(minScale - s);
    s = minScale;
  }
  const negative = u < 0n;
  const digits = (negative ? -u : u).toString().padStart(s + 1, '0');
  const whole = digits.slice(0, digits.length - s);
  const fraction = digits.slice(digits.length - s);
  return `${negative ? '-' : ''}${whole}${s > 0 ? `.${fraction}` : ''}`;
}

/** Exact sum; the result keeps the larger number of fraction digits of the two. */
export function addDecimal(a: string, b: string): string {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  return formatDecimal(rescale(x, scale) + rescale(y, scale), scale);
}

/** `count * pricePerMillion / 1_000_000`, exactly, as units at `scale = price scale + 6`. */
export function costPerMillion(count: number | bigint, pricePerMillion: string): Scaled {
  const price = parseDecimal(pricePerMillion);
  return { units: BigInt(count) * price.units, scale: price.scale + 6 };
}

/** `count * pricePerUnit`, exactly. */
export function costPerUnit(count: number | bigint, pricePerUnit: string): Scaled {
  const price = parseDecimal(pricePerUnit);
  return { units: BigInt(count) * price.units, scale: price.scale };
}

export function sumScaled(values: Scaled[]): Scaled {
  const scale = Math.max(0, ...values.map((v) => v.scale));
  return { units: values.reduce((sum, v) => sum + rescale(v, scale), 0n), scale };
}

/** Drops trailing zeros beyond `minScale` fraction digits, so exact values stay readable. */
export function formatTrimmed(value: Scaled, minScale: number): string {
  let { units, scale } = value;
  while (scale > minScale && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return formatDecimal(units, scale, minScale);
}

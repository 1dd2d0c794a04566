import { BlockList, isIP } from 'node:net';

/**
 * What kind of host an address is, for SSRF guards (provider base URLs, URL ingestion). Each caller
 * decides which classes it admits; `metadata` should be refused by everyone.
 *
 * - `metadata`: cloud metadata endpoints (169.254.169.254, fd00:ec2::254, ...).
 * - `loopback`: 127/8, 0/8, ::1, ::, and the name `localhost`.
 * - `link-local`: 169.254/16, fe80::/10.
 * - `private`: 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), fc00::/7, fec0::/10, 64:ff9b:1::/48.
 * - `reserved`: special-purpose ranges no model server or document lives on: IETF protocol
 *   assignments, documentation, benchmarking (198.18/15), multicast, 240/4 and broadcast,
 *   IPv4-compatible IPv6 (::/96), discard (100::/64), Teredo (2001::/32).
 *
 * IPv4-mapped IPv6 (::ffff:a.b.c.d, in any spelling) is what its IPv4 address is; NAT64
 * (64:ff9b::/96), IPv4-translated (::ffff:0:0/96) and 6to4 (2002::/16) addresses are what the IPv4
 * address they carry is.
 */
export type HostClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'reserved';

const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

function blockList(subnets: [string, number, 'ipv4' | 'ipv6'][], addresses: [string, 'ipv4' | 'ipv6'][] = []): BlockList {
  const list = new BlockList();
  for (const [network, prefix, type] of subnets) list.addSubnet(network, prefix, type);
  for (const [address, type] of addresses) list.addAddress(address, type);
  return list;
}

// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched against the IPv4 rules by BlockList.
const METADATA = blockList([], [
  ['169.254.169.254', 'ipv4'],
  ['169.254.170.2', 'ipv4'], // ECS task metadata
  ['100.100.100.200', 'ipv4'], // Alibaba Cloud
  ['fd00:ec2::254', 'ipv6'],
]);
const LOOPBACK = blockList([
  ['127.0.0.0', 8, 'ipv4'],
  ['0.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['::', 128, 'ipv6'],
]);
const LINK_LOCAL = blockList([
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
]);
const PRIVATE = blockList([
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT, used inside some clouds
  ['fc00::', 7, 'ipv6'],
  ['fec0::', 10, 'ipv6'], // site-local (deprecated by RFC 3879, still routed by some networks)
]);
const RESERVED = blockList([
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments (DS-Lite, NAT64 discovery)
  ['192.0.2.0', 24, 'ipv4'], // documentation
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['198.51.100.0', 24, 'ipv4'], // documentation
  ['203.0.113.0', 24, 'ipv4'], // documentation
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, and 255.255.255.255
  ['::', 96, 'ipv6'], // IPv4-compatible (deprecated); :: and ::1 are matched as loopback first
  ['100::', 64, 'ipv6'], // discard
  ['2001::', 32, 'ipv6'], // Teredo
  ['2001:db8::', 32, 'ipv6'], // documentation
  ['ff00::', 8, 'ipv6'], // multicast
]);

// IPv6 forms that carry an IPv4 address a translator or relay connects to: NAT64's well-known prefix
// (RFC 6052) in the last 32 bits, 6to4 (RFC 3056) in bits 16-47. The local-use NAT64 prefix
// (64:ff9b:1::/48, RFC 8215) is an operator's own translator, placed as it chose: private.
const NAT64 = blockList([['64:ff9b::', 96, 'ipv6']]);
/** SIIT's IPv4-translated addresses (::ffff:0:a.b.c.d, RFC 2765) carry one in the last 32 bits too. BlockList reads `::ffff:` prefixes as IPv4-mapped, so this compares the groups. */
function translated(h: number[]): boolean {
  return h[0] === 0 && h[1] === 0 && h[2] === 0 && h[3] === 0 && h[4] === 0xffff && h[5] === 0;
}
const LOCAL_NAT64 = blockList([['64:ff9b:1::', 48, 'ipv6']]);
const SIX_TO_FOUR = blockList([['2002::', 16, 'ipv6']]);

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function hextets(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => parseInt(g, 16));
}

function ipv4Of(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** Classifies a literal IPv4 or IPv6 address (no brackets). */
export function classifyAddress(address: string): HostClass {
  const family = isIP(address);
  if (family === 0) throw new TypeError(`not an IP address: ${address}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (type === 'ipv6' && (NAT64.check(address, 'ipv6') || translated(hextets(address)))) {
    const h = hextets(address);
    return classifyAddress(ipv4Of(h[6]!, h[7]!));
  }
  if (type === 'ipv6' && LOCAL_NAT64.check(address, 'ipv6')) return 'private';
  if (type === 'ipv6' && SIX_TO_FOUR.check(address, 'ipv6')) {
    const h = hextets(address);
    return classifyAddress(ipv4Of(h[1]!, h[2]!));
  }
  if (METADATA.check(address, type)) return 'metadata';
  if (LOOPBACK.check(address, type)) return 'loopback';
  if (LINK_LOCAL.check(address, type)) return 'link-local';
  if (PRIVATE.check(address, type)) return 'private';
  if (RESERVED.check(address, type)) return 'reserved';
  return 'public';
}

/**
 * The class of a host that needs no DNS: literal IPs and well-known names; undefined when only DNS
 * can tell. `host` is a URL's hostname without brackets, lower-cased, without a trailing dot.
 */
export function classifyHostSync(host: string): HostClass | undefined {
  if (isIP(host) !== 0) return classifyAddress(host);
  if (METADATA_HOSTS.has(host)) return 'metadata';
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  return undefined;
}

/** A URL's host as `classifyHostSync` takes it: no brackets or trailing dot, lower-cased (WHATWG already normalised IPv4 forms). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { RegistryError } from './registry-error.js';

/**
 * SSRF guard for provider base URLs. Whoever sets a base URL makes the gateway send requests (with
 * the provider key) to that host, so admin-set URLs must not reach the host itself, the private
 * network or a cloud metadata service.
 *
 * - `metadata`: cloud metadata endpoints. Always refused: no model server lives there.
 * - `loopback` (127/8, ::1, 0/8, ::, localhost): allowed with `allowLoopback` or `allowPrivateNetwork`.
 * - `private` (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) and `link-local` (169.254/16,
 *   fe80::/10): allowed only with `allowPrivateNetwork`.
 *
 * The sync check sees literal IPs and well-known names only; `assertSafeBaseUrl` also resolves DNS
 * and checks every address. What binds at run time is `egressRefusal`: the registry installs it in
 * the provider HTTP client's DNS lookup, so every new connection is checked against the address it
 * actually connects to (a name that re-resolves to an internal address is refused then).
 */
export type HostClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata';

export interface BaseUrlPolicy {
  /** Lets private, link-local and loopback hosts through (self-hosted Ollama, vLLM, TEI). */
  allowPrivateNetwork?: boolean;
  /** Lets loopback through only (a model server on the same host). */
  allowLoopback?: boolean;
}

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
]);

// IPv6 forms that carry an IPv4 address a translator or relay connects to: NAT64's well-known prefix
// (RFC 6052) in the last 32 bits, 6to4 (RFC 3056) in bits 16-47. The local-use NAT64 prefix
// (64:ff9b:1::/48, RFC 8215) is an operator's own translator, placed as it chose: private.
const NAT64 = blockList([['64:ff9b::', 96, 'ipv6']]);
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
  if (type === 'ipv6' && NAT64.check(address, 'ipv6')) {
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
  return 'public';
}

/** A URL's host without brackets or a trailing dot, lower-cased; the WHATWG parser already normalised IPv4 forms. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

/** The class of a host that needs no DNS: literal IPs and well-known names; undefined when only DNS can tell. */
export function classifyHostSync(host: string): HostClass | undefined {
  if (isIP(host) !== 0) return classifyAddress(host);
  if (METADATA_HOSTS.has(host)) return 'metadata';
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback';
  return undefined;
}

function allowed(hostClass: HostClass, policy: BaseUrlPolicy): boolean {
  switch (hostClass) {
    case 'public':
      return true;
    case 'metadata':
      return false;
    case 'loopback':
      return policy.allowPrivateNetwork === true || policy.allowLoopback === true;
    default:
      return policy.allowPrivateNetwork === true;
  }
}

function refuse(raw: string, why: string): RegistryError {
  return new RegistryError('unsafe_base_url', `Base URL "${raw}" is not allowed: ${why}.`);
}

function parse(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new RegistryError('unsafe_base_url', `Base URL "${raw}" is not a valid URL.`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(raw, `only http and https are supported, not ${url.protocol}`);
  if (url.username || url.password) throw refuse(raw, 'credentials belong in the provider settings, not in the URL');
  return url;
}

function check(raw: string, address: string, hostClass: HostClass, policy: BaseUrlPolicy): void {
  if (allowed(hostClass, policy)) return;
  throw refuse(raw, refusalReason(address, hostClass));
}

function refusalReason(address: string, hostClass: HostClass): string {
  if (hostClass === 'metadata') return `${address} is a cloud metadata endpoint`;
  const flag = hostClass === 'loopback' ? '"allowLoopback": true (or "allowPrivateNetwork": true)' : '"allowPrivateNetwork": true';
  return `${address} is a ${hostClass} address; set ${flag} on this provider if it is a self-hosted server`;
}

/** The per-address check for connections made under `policy`: a reason to refuse, or undefined. */
export function egressRefusal(policy: BaseUrlPolicy): (address: string) => string | undefined {
  return (address) => {
    const hostClass = classifyAddress(address);
    return allowed(hostClass, policy) ? undefined : refusalReason(address, hostClass);
  };
}

/** The check that needs no I/O: scheme, credentials, literal IPs and well-known names. */
export function assertSafeBaseUrlSync(raw: string, policy: BaseUrlPolicy = {}): void {
  const url = parse(raw);
  const host = hostOf(url);
  const hostClass = classifyHostSync(host);
  if (hostClass) check(raw, host, hostClass, policy);
}

export type LookupAll = (hostname: string) => Promise<{ address: string; family: number }[]>;

const defaultLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * The full check for URLs that an admin sets at run time: the sync rules, then every address the
 * name resolves to. A name that does not resolve is refused (it cannot be checked), except with
 * `allowPrivateNetwork`, where only metadata addresses are refused and a name that resolves only
 * inside the deployment's network (a container name) is accepted.
 */
export async function assertSafeBaseUrl(raw: string, policy: BaseUrlPolicy & { lookup?: LookupAll } = {}): Promise<void> {
  assertSafeBaseUrlSync(raw, policy);
  const host = hostOf(parse(raw));
  if (classifyHostSync(host) !== undefined) return;
  let addresses: { address: string }[];
  try {
    addresses = await (policy.lookup ?? defaultLookup)(host);
  } catch (cause) {
    if (policy.allowPrivateNetwork) return;
    throw new RegistryError('unsafe_base_url', `Base URL "${raw}" could not be checked: ${host} does not resolve.`, { cause });
  }
  for (const { address } of addresses) check(raw, `${host} (${address})`, classifyAddress(address), policy);
}

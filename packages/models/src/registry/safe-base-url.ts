import { classifyAddress, classifyHostSync, hostOf, type HostClass } from '../net/classify-address.js';
import { RegistryError } from './registry-error.js';

/**
 * SSRF guard for provider base URLs. Whoever sets a base URL makes the gateway send requests (with
 * the provider key) to that host, so configured URLs must not reach the host itself, the private
 * network or a cloud metadata service. Addresses are classified by `classifyAddress` (net/):
 *
 * - `metadata`: always refused: no model server lives there.
 * - `loopback`: allowed with `allowLoopback` or `allowPrivateNetwork`.
 * - `private`, `link-local` and `reserved`: allowed only with `allowPrivateNetwork`.
 *
 * The sync check sees literal IPs and well-known names only. What binds at run time is
 * `egressRefusal`: the registry installs it in the provider HTTP client's DNS lookup, so every new
 * connection is checked against the address it actually connects to (a name that re-resolves to an
 * internal address is refused then).
 */
export interface BaseUrlPolicy {
  /** Lets private, link-local, reserved and loopback hosts through (self-hosted Ollama, vLLM, TEI). */
  allowPrivateNetwork?: boolean;
  /** Lets loopback through only (a model server on the same host). */
  allowLoopback?: boolean;
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
  // Both remedies: the JSON flag for QUIRE_PROVIDERS_JSON entries, the variable for providers set by their own variables.
  const [flag, variable] = hostClass === 'loopback'
    ? ['"allowLoopback": true (or "allowPrivateNetwork": true)', 'QUIRE_PROVIDERS_ALLOW_LOOPBACK']
    : ['"allowPrivateNetwork": true', 'QUIRE_PROVIDERS_ALLOW_PRIVATE_NETWORK'];
  return (
    `${address} is a ${hostClass} address; if this provider is a self-hosted server, set ${flag} in its QUIRE_PROVIDERS_JSON settings, ` +
    `or for a provider configured by its own variables name it in ${variable} (e.g. ${variable}=openai for OPENAI_BASE_URL)`
  );
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

import { classifyAddress, classifyHostSync, fetchThroughLookup, guardedLookup, hostOf, type HostClass } from '@quire/models';

/**
 * Where a budget alert may be posted. Internal alerting (a chat bridge, an on-call service) often
 * sits on a private address, so private and loopback targets are allowed; the cloud metadata service
 * and link-local addresses are not: a webhook there would hand the gateway's instance credentials to
 * whoever set the budget.
 */
const REFUSED: ReadonlySet<HostClass> = new Set(['metadata', 'link-local']);

const refusal = (hostClass: HostClass | undefined) => (hostClass && REFUSED.has(hostClass) ? `${hostClass} addresses are not allowed for alert webhooks` : undefined);

/** Why a webhook URL is refused as written (scheme, a literal metadata or link-local host), or undefined. */
export function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'only http and https webhooks are allowed';
  if (url.username || url.password) return 'credentials in the URL are not allowed; use a token in the path or query';
  return refusal(classifyHostSync(hostOf(url)));
}

/** Posts through a lookup that checks every address a name resolves to, on every connection (DNS rebinding). */
const guardedFetch = fetchThroughLookup(guardedLookup((address) => refusal(classifyAddress(address))));

export async function postAlert(url: string, payload: unknown): Promise<Response> {
  const problem = webhookUrlProblem(url);
  if (problem) throw new Error(`alert webhook refused: ${problem}`);
  // No redirects: a 307 to a literal metadata address would skip the lookup (an IP is not looked up).
  return guardedFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), redirect: 'error', signal: AbortSignal.timeout(5000) });
}

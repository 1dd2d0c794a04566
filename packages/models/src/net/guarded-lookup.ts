import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';

/** Error code of a connection refused by a guarded lookup; error mapping recognises it. */
export const EGRESS_REFUSED = 'QUIRE_EGRESS_REFUSED';

/**
 * A `lookup` for `net.connect` that resolves every address of the name and refuses the connection
 * when `refusal(address)` names a reason for any of them. Because the check runs inside the socket's
 * own lookup, the address connected to is the address checked: a name that re-resolves to an
 * internal address later (DNS rebinding) is caught on the next connection too. Literal IPs skip
 * lookup in Node, so callers check those before connecting.
 */
export function guardedLookup(refusal: (address: string) => string | undefined, resolveAll: ResolveAll = resolveWithDns): LookupFunction {
  return (hostname, options, callback) => {
    resolveAll(hostname, options, (error, addresses) => {
      if (error) return callback(error, '', 4);
      const reason = addresses.length === 0 ? `${hostname} resolves to no address` : firstRefusal(addresses, refusal);
      if (reason !== undefined) {
        return callback(Object.assign(new Error(`Connection to ${hostname} refused: ${reason}.`), { code: EGRESS_REFUSED }), '', 4);
      }
      // net asks for every address when it races address families (autoSelectFamily), for one otherwise.
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** Resolves every address of a name (dns.lookup with `all`); tests pass their own. */
export type ResolveAll = (hostname: string, options: LookupOptions, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const resolveWithDns: ResolveAll = (hostname, options, callback) => dnsLookup(hostname, { ...options, all: true }, callback);

function firstRefusal(addresses: LookupAddress[], refusal: (address: string) => string | undefined): string | undefined {
  for (const { address } of addresses) {
    const reason = refusal(address);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

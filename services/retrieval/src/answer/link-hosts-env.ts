import { z } from 'zod';

const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * `QUIRE_ANSWER_LINK_HOSTS`: hosts answers may link to besides their sources' URLs, comma-separated
 * (`intranet.example.com,tickets.example.com`; each admits its subdomains). Unset: none.
 */
export const answerLinkHostsSchema = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    const hosts = value.split(',').map((h) => h.trim().toLowerCase().replace(/\.$/, '')).filter((h) => h !== '');
    const bad = hosts.filter((h) => !HOST.test(h));
    if (bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `QUIRE_ANSWER_LINK_HOSTS: not a host name: ${bad.join(', ')} (write names like intranet.example.com, comma-separated, without scheme or path)` });
      return z.NEVER;
    }
    return hosts;
  });

/**
 * `pnpm quire <command>`: teams, keys, budgets and usage over the gateway's HTTP API, with
 * QUIRE_URL (default http://127.0.0.1:8080) and QUIRE_API_KEY (an admin key for most commands).
 */
import { parseArgs } from 'node:util';

const HELP = `usage: pnpm quire <command> [options]

  teams                                      list teams
  create-team <id> [--name N] [--models a/*,b/c] [--rpm N] [--tpm N]
  keys [--team T]                            list keys (never secrets)
  create-key --team T --role admin|knowledge-admin|member|service [--name N] [--groups g1,g2] [--models m1,m2] [--expires ISO]
  revoke-key <id>
  rotate-key <id> [--grace SECONDS]
  set-budget --team T | --key K --limit USD [--period day|month] [--soft 0.8] [--webhook URL|none]
                                             changes only what is given: an existing budget keeps its
                                             soft threshold and webhook (--webhook none removes it)
  budgets [--team T | --key K]
  usage [--group-by team,model,day] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--team T]
  audit [--limit N] [--format json|csv|jsonl]
  help, --help, -h                           this text

env: QUIRE_URL (default http://127.0.0.1:8080), QUIRE_API_KEY (an admin key for most commands)`;

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

/** A command line the commands cannot use: said with the help text, exit 2. */
class UsageError extends Error {}

/**
 * A whole non-negative number (`--rpm 600`), or a usage error: `Number.parseInt` would read `1.5k` as 1
 * and `abc` as NaN, which JSON sends as null ("no limit").
 */
function int(v: string | undefined, option: string): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${option} takes a whole number of 0 or more, not "${v}"`);
  return n;
}

/** A soft threshold: a fraction above 0, at most 1 (`--soft 0.8`). */
function fraction(v: string | undefined, option: string): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d*\.?\d+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  if (!(n > 0 && n <= 1)) throw new UsageError(`--${option} takes a fraction above 0, at most 1 (such as 0.8), not "${v}"`);
  return n;
}

const OPTIONS = {
  name: { type: 'string' }, models: { type: 'string' }, rpm: { type: 'string' }, tpm: { type: 'string' }, team: { type: 'string' }, key: { type: 'string' },
  role: { type: 'string' }, groups: { type: 'string' }, expires: { type: 'string' }, grace: { type: 'string' }, limit: { type: 'string' },
  period: { type: 'string' }, soft: { type: 'string' }, webhook: { type: 'string' }, 'group-by': { type: 'string' }, from: { type: 'string' },
  to: { type: 'string' }, format: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

/** The parsed command line, or the message of a usage error (an unknown or malformed option). */
function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    return (error as Error).message;
  }
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env, out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  const parsed = parse(argv);
  if (typeof parsed === 'string') {
    out(`${parsed}\n\n${HELP}`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  const [command, arg] = positionals;
  // Asked for, help is the answer (exit 0); with no command at all it explains a usage error (exit 2).
  if (o.help || command === 'help') {
    out(HELP);
    return 0;
  }
  if (!command) {
    out(HELP);
    return 2;
  }
  const base = (env.QUIRE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  if (!env.QUIRE_API_KEY) {
    out('QUIRE_API_KEY is not set: an admin key, such as the one the first start of Quire prints, or the QUIRE_ADMIN_KEY it was started with.');
    return 2;
  }
  const request = async (method: string, path: string, body?: unknown): Promise<number> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${env.QUIRE_API_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    out(type.includes('json') && !type.includes('ndjson') ? JSON.stringify(JSON.parse(text), null, 2) : text.trimEnd());
    return res.ok ? 0 : 1;
  };
  const qs = (q: Record<string, string | undefined>) => {
    const p = new URLSearchParams(Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined));
    return p.size ? `?${p}` : '';
  };
  try {
    return await commandOf(command, arg, o, request, qs, out);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out(`${error.message}\n\n${HELP}`);
    return 2;
  }
}

type Values = Exclude<ReturnType<typeof parse>, string>['values'];
type Request = (method: string, path: string, body?: unknown) => Promise<number>;
type Qs = (q: Record<string, string | undefined>) => string;

/** Runs one command; a malformed option throws UsageError. */
async function commandOf(command: string, arg: string | undefined, o: Values, request: Request, qs: Qs, out: (s: string) => void): Promise<number> {
  switch (command) {
    case 'teams':
      return request('GET', '/v1/teams');
    case 'create-team':
      if (!arg) break;
      return request('POST', '/v1/teams', { id: arg, name: o.name ?? arg, allowed_models: list(o.models) ?? null, rpm: int(o.rpm, 'rpm') ?? null, tpm: int(o.tpm, 'tpm') ?? null });
    case 'keys':
      return request('GET', `/v1/keys${qs({ team: o.team })}`);
    case 'create-key':
      if (!o.team || !o.role) break;
      return request('POST', '/v1/keys', {
        team_id: o.team, role: o.role, name: o.name ?? `${o.team}-${o.role}`, groups: list(o.groups) ?? [], allowed_models: list(o.models) ?? null,
        rpm: int(o.rpm, 'rpm') ?? null, tpm: int(o.tpm, 'tpm') ?? null, expires_at: o.expires ?? null,
      });
    case 'revoke-key':
      if (!arg) break;
      return request('POST', `/v1/keys/${encodeURIComponent(arg)}/revoke`, {});
    case 'rotate-key':
      if (!arg) break;
      return request('POST', `/v1/keys/${encodeURIComponent(arg)}/rotate`, { grace_seconds: int(o.grace, 'grace') ?? 0 });
    case 'set-budget': {
      if (!o.limit || (!o.team && !o.key)) break;
      // Only what was given: the API keeps an existing budget's soft threshold and webhook when left out.
      const soft = fraction(o.soft, 'soft');
      return request('PUT', '/v1/budgets', {
        scope: o.team ? 'team' : 'key', scope_id: o.team ?? o.key, period: o.period ?? 'month', limit_usd: o.limit,
        ...(soft !== undefined ? { soft_fraction: soft } : {}),
        ...(o.webhook !== undefined ? { alert_webhook: o.webhook === 'none' ? null : o.webhook } : {}),
      });
    }
    case 'budgets':
      return request('GET', `/v1/budgets${qs({ scope: o.team ? 'team' : o.key ? 'key' : undefined, scope_id: o.team ?? o.key })}`);
    case 'usage':
      return request('GET', `/v1/usage${qs({ group_by: o['group-by'] ?? 'team,model', from: o.from, to: o.to, team: o.team })}`);
    case 'audit':
      return request('GET', `/v1/audit${qs({ limit: o.limit, format: o.format })}`);
    default:
      out(`unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
  out(`missing arguments for "${command}"\n\n${HELP}`);
  return 2;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runCli(process.argv.slice(2));
}

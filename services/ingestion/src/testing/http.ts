import { HEADERS, type Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';

export const TEST_SECRET = 'ingestion-test-secret-0123456789';
export const TEAM_A: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'admin', groups: [] };
/** Another team's writer: a knowledge-admin, since an `admin` is an organisation admin and reaches every team's collections. */
export const TEAM_B: Identity = { team_id: 'team-b', key_id: 'key-b', role: 'knowledge-admin', groups: [] };

export interface FileSpec {
  name: string;
  bytes: Uint8Array | string;
  type?: string;
}

/** A tiny client for the service under test; identities are signed the way the gateway signs them. */
export function client(baseUrl: string) {
  const call = async (path: string, init: { method?: string; json?: unknown; form?: FormData; identity?: Identity | null; token?: string } = {}) => {
    const headers: Record<string, string> = {};
    const identity = init.identity === undefined ? TEAM_A : init.identity;
    if (init.token !== undefined) headers[HEADERS.identity] = init.token;
    else if (identity) headers[HEADERS.identity] = signIdentity(identity, TEST_SECRET);
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${path}`, {
      method: init.method ?? (init.json !== undefined || init.form ? 'POST' : 'GET'),
      headers,
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : init.form ? { body: init.form } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as any };
  };
  return {
    call,
    async createCollection(body: Record<string, unknown>, identity: Identity = TEAM_A) {
      const r = await call('/v1/collections', { json: body, identity });
      if (r.status !== 201) throw new Error(`create collection: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as { id: string; name: string };
    },
    upload(collectionId: string, files: FileSpec[], extra: { metadata?: unknown; identity?: Identity } = {}) {
      const form = new FormData();
      for (const f of files) form.append('file', new Blob([typeof f.bytes === 'string' ? f.bytes : Buffer.from(f.bytes)], { type: f.type ?? 'application/octet-stream' }), f.name);
      if (extra.metadata !== undefined) form.append('metadata', JSON.stringify(extra.metadata));
      return call(`/v1/collections/${collectionId}/documents`, { form, ...(extra.identity ? { identity: extra.identity } : {}) });
    },
    async waitForDocument(id: string, timeoutMs = 20_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await call(`/v1/documents/${id}`);
        if (r.body?.status === 'ready' || r.body?.status === 'failed') return r.body;
        if (Date.now() > deadline) throw new Error(`document ${id} still ${r.body?.status}: ${JSON.stringify(r.body)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

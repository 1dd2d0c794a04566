import { ADMIN_AUTH } from '../../services/gateway/src/testing/gateway-harness.js';

export { ADMIN_AUTH };

/** A JSON call to a gateway with the given key (the test admin key by default). */
export async function call(url: string, method: string, path: string, body?: unknown, auth: Record<string, string> = ADMIN_AUTH, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...auth, ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** Creates a team (if needed) and a key in it; returns the key's secret and id. */
export async function teamKey(url: string, team: string, role: string, extra: Record<string, unknown> = {}, adminAuth = ADMIN_AUTH) {
  await call(url, 'POST', '/v1/teams', { id: team, name: team }, adminAuth);
  const created = await call(url, 'POST', '/v1/keys', { team_id: team, name: `${team}-${role}`, role, ...extra }, adminAuth);
  if (created.status !== 201) throw new Error(`key create failed: ${created.status} ${JSON.stringify(created.body)}`);
  return { key: created.body.key as string, id: created.body.id as string, auth: bearer(created.body.key) };
}

export const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'Hello there' }], ...extra });
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls a document until it is ready or failed (30 s at most); returns its view. */
export async function documentDone(url: string, auth: Record<string, string>, id: string): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const doc = await call(url, 'GET', `/v1/documents/${id}`, undefined, auth);
    if (doc.body.status === 'ready' || doc.body.status === 'failed') return doc.body;
    await sleep(100);
  }
  throw new Error(`document ${id} did not finish`);
}

/** Uploads `text` as a file with `metadata`, expects 202 and a ready document; returns its id. */
export async function uploadText(url: string, auth: Record<string, string>, collection: string, name: string, text: string, metadata: Record<string, unknown> = {}): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([text], { type: 'text/plain' }), name);
  form.append('metadata', JSON.stringify(metadata));
  const res = await fetch(`${url}/v1/collections/${collection}/documents`, { method: 'POST', headers: auth, body: form });
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  const id = ((await res.json()) as any).documents[0].id as string;
  const done = await documentDone(url, auth, id);
  if (done.status !== 'ready') throw new Error(`document ${id} failed: ${JSON.stringify(done.error ?? done)}`);
  return id;
}

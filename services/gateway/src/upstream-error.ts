import type http from 'node:http';

/** How much of an error answer is read for its code; Quire's error bodies are a few hundred bytes. */
const ERROR_BODY_CAP = 4096;

/** A 4xx JSON answer from a service, with the code from its body (null when it could not be read). */
export interface UpstreamError {
  service: 'ingestion' | 'retrieval';
  status: number;
  code: string | null;
}

/**
 * Copies at most ERROR_BODY_CAP bytes of an error answer while it is piped on (nothing is held
 * back from the client), then hands over the `error.code` of Quire's error body.
 */
export function readErrorCode(body: http.IncomingMessage, done: (code: string | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  body.on('data', (chunk: Buffer) => {
    if (size >= ERROR_BODY_CAP) return;
    chunks.push(chunk);
    size += chunk.length;
  });
  const finish = () => {
    if (finished) return;
    finished = true;
    const text = Buffer.concat(chunks).subarray(0, ERROR_BODY_CAP).toString('utf8');
    let code: string | null = null;
    try {
      const parsed = JSON.parse(text) as { error?: { code?: unknown } };
      if (typeof parsed?.error?.code === 'string') code = parsed.error.code.slice(0, 100);
    } catch {
      // Past the cap (a long message): the code comes before the message in Quire's error body.
      code = /^\{"error":\{[^{}]*?"code":"([a-z0-9_]{1,100})"/.exec(text)?.[1] ?? null;
    }
    done(code);
  };
  body.once('end', finish);
  body.once('close', finish);
}

/**
 * Hands a service's JSON 4xx answer, with its code, to `onError` once it has been passed on; a
 * success or a stream is never looked into.
 */
export function watchRefusal(upstreamRes: http.IncomingMessage, service: UpstreamError['service'], onError: (error: UpstreamError) => void): void {
  const status = upstreamRes.statusCode ?? 502;
  if (status < 400 || status >= 500 || !String(upstreamRes.headers['content-type'] ?? '').startsWith('application/json')) return;
  readErrorCode(upstreamRes, (code) => onError({ service, status, code }));
}

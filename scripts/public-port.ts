/**
 * The all-in-one start binds the gateway's public port before it opens the database. A first start
 * creates the admin key and prints it once; had the port been taken, the key would scroll past with
 * a stack trace and the next start (on a free port) would print none, locking a newcomer out.
 */
import { randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { HEADERS } from '@quire/contracts';
import { AppError, listen, toErrorResponse, writeJson, type ListenOptions, type RunningServer } from '@quire/server-kit';

/** The public port is held by another process; the message names the port and the setting that moves it. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  readonly code = 'port_in_use';
  constructor(
    readonly host: string,
    readonly port: number,
    options: { cause?: unknown } = {},
  ) {
    super(`port ${port} on ${host} is already in use (another Quire?). Stop what holds it, or set QUIRE_PORT to a free port, e.g. QUIRE_PORT=8090.`, options);
  }
}

export interface PublicPort {
  server: RunningServer;
  /** From now on requests go to `handler`; until then every request is answered 503 (starting). */
  serve(handler: RequestListener): void;
}

/** Requests that arrive while the rest starts: 503 with `retry-after`, so `/readyz` pollers keep waiting. */
const starting: RequestListener = (req, res) => {
  const requestId = String(req.headers[HEADERS.traceId] ?? randomUUID());
  const error = new AppError('service_unavailable', 'Quire is starting; try again in a moment.', { headers: { 'retry-after': '1' } });
  const { status, body, headers } = toErrorResponse(error, requestId);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  writeJson(res, status, body);
};

export async function bindPublicPort(port: number, host: string, options: ListenOptions = {}): Promise<PublicPort> {
  let handler: RequestListener = starting;
  const dispatch: RequestListener = (req, res) => handler(req, res);
  try {
    const server = await listen(dispatch, port, host, options);
    return { server, serve: (next) => void (handler = next) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') throw new PortInUseError(host, port, { cause: error });
    throw error;
  }
}

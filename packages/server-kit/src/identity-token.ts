import { createHmac, timingSafeEqual } from 'node:crypto';
import { IdentitySchema, type Identity } from '@quire/contracts';
import { AppError } from './app-error.js';

/**
 * The gateway forwards who a request acts for in a short-lived HMAC-signed token that only the
 * gateway and the services can make (shared `QUIRE_INTERNAL_SECRET`). A service never trusts an
 * identity it cannot verify, so calling a service directly is refused.
 */
const VERSION = 'v1';

function sign(payload: string, secret: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

export function signIdentity(identity: Identity, secret: string, ttlSeconds = 300, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ ...identity, exp: Math.floor(now / 1000) + ttlSeconds })).toString('base64url');
  return `${VERSION}.${payload}.${sign(`${VERSION}.${payload}`, secret)}`;
}

export function verifyIdentity(token: string | undefined, secret: string, now = Date.now()): Identity {
  if (!token) throw new AppError('invalid_identity', 'This service only accepts requests forwarded by the Quire gateway.');
  if (token.length > 8192) throw new AppError('invalid_identity', 'The forwarded identity is malformed.');
  const [version, payload, signature] = token.split('.');
  if (version !== VERSION || !payload || !signature) throw new AppError('invalid_identity', 'The forwarded identity is malformed.');
  const expected = Buffer.from(sign(`${version}.${payload}`, secret));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new AppError('invalid_identity', 'The forwarded identity has a bad signature.');
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new AppError('invalid_identity', 'The forwarded identity is malformed.');
  }
  const exp = (decoded as { exp?: unknown }).exp;
  if (typeof exp !== 'number' || exp * 1000 < now) throw new AppError('invalid_identity', 'The forwarded identity has expired.');
  const parsed = IdentitySchema.safeParse(decoded);
  if (!parsed.success) throw new AppError('invalid_identity', 'The forwarded identity is malformed.');
  return parsed.data;
}

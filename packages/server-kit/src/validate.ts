import type { z } from 'zod';
import { AppError } from './app-error.js';
import { describeZodError } from './error-response.js';

/** Parses a boundary value with its schema, or throws a 400 that names the field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const first = result.error.issues[0];
  throw new AppError('invalid_request', `Invalid ${what}: ${describeZodError(result.error)}`, {
    param: first?.path.join('.') || undefined,
  });
}

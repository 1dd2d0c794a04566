import type { RequestHandler } from 'express';
import { AppError } from '@quire/server-kit';

/**
 * How deeply a model request's JSON may nest (the body itself is level 1). JSON.parse reads any
 * depth, but what comes after it recurses: the cost estimate's JSON.stringify threw a RangeError
 * (a 500) on a tool schema 200,000 levels deep, and zod and the provider SDKs recurse too. Real
 * bodies stay far below: OpenAI's strict tool schemas allow 10 nested objects (two JSON levels each,
 * `properties` and the property) under `tools.0.function.parameters`, about 25 levels in all.
 */
export const MAX_BODY_DEPTH = 64;

/** Longer paths are cut: keys are the caller's and may be long; the start says where. */
const MAX_PARAM_CHARS = 200;

/**
 * Refuses a body nested deeper than MAX_BODY_DEPTH with a 400 naming the path (`param`) of the
 * first value past the limit. Both doors (the model front and the express routes) call it before
 * admission, whose cost estimate stringifies the body. The walk itself recurses at most
 * MAX_BODY_DEPTH frames and visits each value once.
 */
export function assertBodyDepth(body: unknown): void {
  const trail: string[] = [];
  if (!tooDeep(body, 1, trail)) return;
  const path = trail.join('.');
  const param = path.length > MAX_PARAM_CHARS ? `${path.slice(0, MAX_PARAM_CHARS)}…` : path;
  throw new AppError('invalid_request', `The request body nests deeper than ${MAX_BODY_DEPTH} levels (at "${param}").`, {
    param,
    details: { max_depth: MAX_BODY_DEPTH },
  });
}

/** Whether `value`, at `level`, holds an object or array deeper than the limit; `trail` is then the path to it. */
function tooDeep(value: unknown, level: number, trail: string[]): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (level > MAX_BODY_DEPTH) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      trail.push(String(i));
      if (tooDeep(value[i], level + 1, trail)) return true;
      trail.pop();
    }
    return false;
  }
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    trail.push(key);
    if (tooDeep((value as Record<string, unknown>)[key], level + 1, trail)) return true;
    trail.pop();
  }
  return false;
}

/** The express door's check, right after its JSON parser and before the model guard's admission. */
export function bodyDepthGuard(): RequestHandler {
  return (req, _res, next) => {
    try {
      assertBodyDepth(req.body);
    } catch (error) {
      next(error);
      return;
    }
    next();
  };
}

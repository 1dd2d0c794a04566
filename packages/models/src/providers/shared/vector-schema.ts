import { z } from 'zod';

function isNumberArray(value: unknown): value is number[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'number') return false;
  return true;
}

/**
 * An embedding vector in a provider response. Checked with one loop instead of a schema per element:
 * a 1,536-number vector through `z.array(z.number())` costs more than parsing its JSON.
 */
export const vectorSchema = z.custom<number[]>(isNumberArray, 'expected an array of numbers');

import { z } from 'zod';

/** `provider/model`, e.g. `openai/text-embedding-3-small`; the model id may itself contain slashes. */
export const ModelNameSchema = z
  .string()
  .max(200)
  // No NUL in the model id either: model names are stored in text columns.
  .regex(/^[a-z0-9][a-z0-9._-]*\/[^\s\u0000]+$/i, 'must be "provider/model", for example "openai/text-embedding-3-small"');

/**
 * A UUID as Postgres's `uuid` type takes one: 8-4-4-4-12 hex digits, either case, any version. Not
 * zod's `.uuid()`, which also demands RFC 9562 version and variant digits and so refuses ids Postgres
 * stores. The one copy: check ids with `isUuid` or `UuidSchema`, never a regex of your own.
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const UuidSchema = z.string().regex(UUID_PATTERN, 'must be a UUID');

/** Whether `value` is a UUID (`UUID_PATTERN`): what to check before an id meets a `uuid` column or cast. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/**
 * Why Postgres would refuse a string stored `as` text or inside jsonb, or undefined when it stores
 * it: neither takes the NUL character, and jsonb takes no lone UTF-16 surrogate (a text parameter's
 * is sent as U+FFFD). Checked at the edge, so a caller gets a 400 naming the field, not a 500.
 */
export function unstorableTextReason(text: string, as: 'text' | 'jsonb' = 'jsonb'): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (as === 'jsonb' && /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)) return 'must be valid Unicode (it has a lone surrogate)';
  return undefined;
}

/** Metadata values search can filter on. Keys and strings must be storable (`unstorableTextReason`). */
export const MetadataSchema = z
  .record(
    z.string().min(1).max(100),
    z.union([z.string().max(2000), z.number(), z.boolean(), z.null(), z.array(z.string().max(200)).max(100)]),
  )
  .superRefine((metadata, ctx) => {
    for (const [key, value] of Object.entries(metadata)) {
      const keyReason = unstorableTextReason(key);
      if (keyReason) ctx.addIssue({ code: 'custom', path: [key], message: `the key ${keyReason}` });
      const strings: [string, (string | number)[]][] =
        typeof value === 'string' ? [[value, [key]]] : Array.isArray(value) ? value.map((v, i) => [v, [key, i]]) : [];
      for (const [text, path] of strings) {
        const reason = unstorableTextReason(text);
        if (reason) ctx.addIssue({ code: 'custom', path, message: reason });
      }
    }
  });
export type Metadata = z.infer<typeof MetadataSchema>;

/** Cost of a request, summed exactly from the ledger; null when some call's price is unknown. */
export const UsageSummarySchema = z.object({
  cost_usd: z.number().nullable(),
  by_stage: z.record(z.string(), z.object({ cost_usd: z.number().nullable(), calls: z.number().int(), input_tokens: z.number().int(), output_tokens: z.number().int() })),
  unpriced_calls: z.number().int(),
});
export type UsageSummary = z.infer<typeof UsageSummarySchema>;

import { z } from 'zod';

/** `provider/model`, e.g. `openai/text-embedding-3-small`; the model id may itself contain slashes. */
export const ModelNameSchema = z
  .string()
  .max(200)
  .regex(/^[a-z0-9][a-z0-9._-]*\/\S+$/i, 'must be "provider/model", for example "openai/text-embedding-3-small"');

export const UuidSchema = z.string().uuid();

/** Metadata values search can filter on. */
export const MetadataSchema = z.record(
  z.string().min(1).max(100),
  z.union([z.string().max(2000), z.number(), z.boolean(), z.null(), z.array(z.string().max(200)).max(100)]),
);
export type Metadata = z.infer<typeof MetadataSchema>;

/** Cost of a request, summed exactly from the ledger; null when some call's price is unknown. */
export const UsageSummarySchema = z.object({
  cost_usd: z.number().nullable(),
  by_stage: z.record(z.string(), z.object({ cost_usd: z.number().nullable(), calls: z.number().int(), input_tokens: z.number().int(), output_tokens: z.number().int() })),
  unpriced_calls: z.number().int(),
});
export type UsageSummary = z.infer<typeof UsageSummarySchema>;

import { z } from 'zod';

/** The one error body every service returns (OpenAI's shape plus our request id). */
export const ErrorBodySchema = z.object({
  error: z.object({
    type: z.string(),
    code: z.string(),
    message: z.string(),
    param: z.string().nullable().optional(),
    request_id: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { parseWith, writeJson } from '@quire/server-kit';
import { attributionOf } from '../caller-identity.js';
import { assertNoForbiddenFields } from '../forbidden-fields.js';
import { clientSignal } from './client-signal.js';
import type { Attribution } from '../ledger.js';
import type { ModelService } from '../model-service.js';
import { decodeTokenInputs } from './token-input.js';
import { EmbeddingsBodySchema, type EmbeddingsBody } from './validators.js';

function toBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

/** The inputs as texts: token ids (one list, or a list per input) are decoded (token-input.ts). */
async function inputTexts(input: EmbeddingsBody['input']): Promise<string[]> {
  if (typeof input === 'string') return [input];
  if (input.every((item): item is string => typeof item === 'string')) return input;
  if (input.every((item): item is number => typeof item === 'number')) return decodeTokenInputs([input]);
  return decodeTokenInputs(input as number[][]);
}

export function embeddingsHandler(models: ModelService) {
  return (req: Request, res: Response) => embeddings(models, req.body, attributionOf(req, res), res);
}

/** `POST /v1/embeddings`, OpenAI-compatible (float and base64, as the OpenAI SDK asks for base64 by default). */
export async function embeddings(models: ModelService, raw: unknown, attribution: Attribution, res: ServerResponse): Promise<void> {
  assertNoForbiddenFields(raw);
  const body = parseWith(EmbeddingsBodySchema, raw);
  const values = await inputTexts(body.input);
  // A base64 caller (the OpenAI SDK's default) gets base64 from providers that offer it: float32 bytes
  // pass through without becoming JSON numbers on either side.
  const result = await models.embed(body.model, values, body.dimensions ?? undefined, attribution, body.encoding_format === 'base64' ? 'base64' : undefined, clientSignal(res));
  writeJson(res, 200, {
    object: 'list',
    data: result.embeddings.map((embedding, index) => ({
      object: 'embedding',
      index,
      embedding: body.encoding_format === 'base64' ? toBase64(embedding) : embedding,
    })),
    model: body.model,
    usage: { prompt_tokens: result.usage.inputTokens, total_tokens: result.usage.inputTokens },
  });
}

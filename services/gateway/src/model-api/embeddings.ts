import type { Request, Response } from 'express';
import { parseWith } from '@quire/server-kit';
import { attributionOf } from '../caller-identity.js';
import { assertNoForbiddenFields } from '../forbidden-fields.js';
import type { ModelService } from '../model-service.js';
import { EmbeddingsBodySchema } from './validators.js';

function toBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

/** `POST /v1/embeddings`, OpenAI-compatible (float and base64, as the OpenAI SDK asks for base64 by default). */
export function embeddingsHandler(models: ModelService) {
  return async (req: Request, res: Response) => {
    assertNoForbiddenFields(req.body);
    const body = parseWith(EmbeddingsBodySchema, req.body);
    const values = typeof body.input === 'string' ? [body.input] : body.input;
    const result = await models.embed(body.model, values, body.dimensions, attributionOf(req, res));
    res.json({
      object: 'list',
      data: result.embeddings.map((embedding, index) => ({
        object: 'embedding',
        index,
        embedding: body.encoding_format === 'base64' ? toBase64(embedding) : embedding,
      })),
      model: body.model,
      usage: { prompt_tokens: result.usage.inputTokens, total_tokens: result.usage.inputTokens },
    });
  };
}

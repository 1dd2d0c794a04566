import { AppError } from '@quire/server-kit';
import type { Tiktoken } from 'js-tiktoken/lite';

/**
 * `/v1/embeddings` accepts input as token ids, as OpenAI's API does: LangChain's `OpenAIEmbeddings`
 * sends them by default (`check_embedding_ctx_length`), tokenised with cl100k_base, the tokenizer of
 * OpenAI's embedding models and tiktoken's fallback for model names it does not know (a route name,
 * say). Quire's model layer carries text, so the ids are decoded back to the text they came from;
 * every provider then gets text, and OpenAI's own API re-tokenises it to the same ids. A list that
 * was cut between the bytes of one character (LangChain splits inputs over 8,191 tokens) decodes with
 * U+FFFD in that place, which changes that character's token and nothing else.
 */
let encoder: Promise<Tiktoken> | undefined;

async function cl100k(): Promise<Tiktoken> {
  // The ranks are about 1 MB of text to parse: loaded on the first token-id request, not at start.
  encoder ??= Promise.all([import('js-tiktoken/lite'), import('js-tiktoken/ranks/cl100k_base')]).then(([{ Tiktoken }, ranks]) => new Tiktoken(ranks.default));
  return encoder;
}

/** cl100k_base defines ids 0-100255 and five special tokens; any other id would decode to nothing. */
const SPECIAL_IDS = new Set([100_257, 100_258, 100_259, 100_260, 100_276]);
const defined = (id: number) => id <= 100_255 || SPECIAL_IDS.has(id);

export async function decodeTokenInputs(inputs: number[][]): Promise<string[]> {
  const tokenizer = await cl100k();
  return inputs.map((tokens, i) => {
    const bad = tokens.find((t) => !defined(t));
    if (bad !== undefined) {
      throw new AppError('invalid_request', `input[${i}] holds token id ${bad}, which cl100k_base does not define (token-id input is read as cl100k_base, the tokenizer of OpenAI's embedding models).`, { param: 'input' });
    }
    try {
      return tokenizer.decode(tokens);
    } catch {
      throw new AppError('invalid_request', `input[${i}] could not be decoded as cl100k_base token ids.`, { param: 'input' });
    }
  });
}

import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';

let encoder: Tiktoken | null = null;

/** cl100k_base token count (OpenAI's embedding models' tokenizer); loaded on first use. */
export function tokenLength(text: string): number {
  encoder ??= new Tiktoken(cl100k);
  return encoder.encode(text).length;
}

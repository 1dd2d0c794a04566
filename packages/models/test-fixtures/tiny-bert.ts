/**
 * Tiny BERT-shaped models that transformers.js loads like real ones (config.json, tokenizer.json,
 * tokenizer_config.json, onnx/model.onnx), written by the tests themselves. The graphs are trivial
 * lookups, so every output can be recomputed by hand from the tables exported here.
 *
 * - encoder:        last_hidden_state[b,s,:] = TOKEN_ROWS[input_ids[b,s]] + TYPE_ROWS[token_type_ids[b,s]]
 * - cross-encoder:  logits[b,0] = sum over s with attention_mask = 1 of (TOKEN_SCORES[id] + TYPE_SCORES[type])
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ELEM_FLOAT, ELEM_INT64, encodeModel, type Graph, type ValueInfo } from './onnx-proto.js';

export const TINY_VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
  'the', 'cat', 'sat', 'on', 'mat', 'dog', 'ran', 'in', 'park', 'a', 'fast', 'red', 'car',
  'what', 'is', 'where', 'did', 'go', 'represent', 'this', 'sentence', 'for', 'searching',
  'relevant', 'passages', ':', '##s',
] as const;

export const HIDDEN = 4;

export function tokenId(token: string): number {
  const id = TINY_VOCAB.indexOf(token as (typeof TINY_VOCAB)[number]);
  if (id === -1) throw new Error(`"${token}" is not in the tiny vocabulary`);
  return id;
}

/** Distinct, non-degenerate rows (padding's row is not zero, so ignoring the mask shows up). */
export const TOKEN_ROWS: number[][] = TINY_VOCAB.map((_, id) =>
  Array.from({ length: HIDDEN }, (__, j) => Math.fround((((id * 7 + j * 5) % 13) - 6) / 4 + (j === 0 ? 0.25 : 0))),
);
export const TYPE_ROWS: number[][] = [
  [0, 0, 0, 0],
  [0.5, -0.5, 0.25, -0.25],
];
export const TOKEN_SCORES: number[] = TINY_VOCAB.map((token, id) => {
  const relevant: Record<string, number> = { cat: 2, mat: 1, sat: 0.5, dog: -1.5, car: -2 };
  return Math.fround(relevant[token] ?? ((id % 5) - 2) / 8);
});
export const TYPE_SCORES: number[] = [0, Math.fround(-0.125)];

const ids = (name: string): ValueInfo => ({ name, elemType: ELEM_INT64, shape: ['batch_size', 'sequence_length'] });
const bertInputs = [ids('input_ids'), ids('attention_mask'), ids('token_type_ids')];

function encoderGraph(): Graph {
  return {
    name: 'tiny_bert_encoder',
    inputs: bertInputs,
    outputs: [{ name: 'last_hidden_state', elemType: ELEM_FLOAT, shape: ['batch_size', 'sequence_length', HIDDEN] }],
    initializers: [
      { name: 'token_rows', dims: [TINY_VOCAB.length, HIDDEN], values: TOKEN_ROWS.flat() },
      { name: 'type_rows', dims: [2, HIDDEN], values: TYPE_ROWS.flat() },
    ],
    nodes: [
      { opType: 'Gather', inputs: ['token_rows', 'input_ids'], outputs: ['token_part'] },
      { opType: 'Gather', inputs: ['type_rows', 'token_type_ids'], outputs: ['type_part'] },
      { opType: 'Add', inputs: ['token_part', 'type_part'], outputs: ['last_hidden_state'] },
    ],
  };
}

function crossEncoderGraph(): Graph {
  return {
    name: 'tiny_bert_cross_encoder',
    inputs: bertInputs,
    outputs: [{ name: 'logits', elemType: ELEM_FLOAT, shape: ['batch_size', 1] }],
    initializers: [
      { name: 'token_scores', dims: [TINY_VOCAB.length, 1], values: TOKEN_SCORES },
      { name: 'type_scores', dims: [2, 1], values: TYPE_SCORES },
      { name: 'axis_2', dims: [1], values: [2], elemType: ELEM_INT64 },
      { name: 'axis_1', dims: [1], values: [1], elemType: ELEM_INT64 },
    ],
    nodes: [
      { opType: 'Gather', inputs: ['token_scores', 'input_ids'], outputs: ['token_part'] },
      { opType: 'Gather', inputs: ['type_scores', 'token_type_ids'], outputs: ['type_part'] },
      { opType: 'Add', inputs: ['token_part', 'type_part'], outputs: ['per_token'] },
      { opType: 'Cast', inputs: ['attention_mask'], outputs: ['mask_float'], intAttributes: { to: ELEM_FLOAT } },
      { opType: 'Unsqueeze', inputs: ['mask_float', 'axis_2'], outputs: ['mask_3d'] },
      { opType: 'Mul', inputs: ['per_token', 'mask_3d'], outputs: ['masked'] },
      { opType: 'ReduceSum', inputs: ['masked', 'axis_1'], outputs: ['logits'], intAttributes: { keepdims: 0 } },
    ],
  };
}

function tokenizerJson(): unknown {
  const special = (id: number) => ({ id, content: TINY_VOCAB[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const tok = (id: '[CLS]' | '[SEP]', typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [0, 1, 2, 3, 4].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tok('[CLS]', 0), seq('A', 0), tok('[SEP]', 0)],
      pair: [tok('[CLS]', 0), seq('A', 0), tok('[SEP]', 0), seq('B', 1), tok('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [tokenId('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [tokenId('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(TINY_VOCAB.map((token, id) => [token, id])),
    },
  };
}

const tokenizerConfig = {
  tokenizer_class: 'BertTokenizer',
  do_lower_case: true,
  model_max_length: 16,
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  mask_token: '[MASK]',
};

function bertConfig(architecture: string): Record<string, unknown> {
  return {
    model_type: 'bert',
    architectures: [architecture],
    hidden_size: HIDDEN,
    num_attention_heads: 1,
    num_hidden_layers: 1,
    intermediate_size: HIDDEN,
    max_position_embeddings: 16,
    type_vocab_size: 2,
    vocab_size: TINY_VOCAB.length,
    pad_token_id: 0,
    ...(architecture === 'BertForSequenceClassification' && { id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } }),
  };
}

async function writeModel(folder: string, graph: Graph, architecture: string): Promise<void> {
  await mkdir(join(folder, 'onnx'), { recursive: true });
  await writeFile(join(folder, 'onnx', 'model.onnx'), encodeModel(graph));
  await writeFile(join(folder, 'config.json'), JSON.stringify(bertConfig(architecture)));
  await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  await writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
}

/** Model ids (relative to the models folder) that `writeTinyBertModels` creates. */
export const TINY_MODELS = {
  /** Named like English bge v1.5: CLS pooling and the query instruction by default. */
  bge: 'quire-test/tiny-bge-small-en-v1.5',
  /** Anything else: mean pooling. */
  minilm: 'quire-test/tiny-all-MiniLM-L6-v2',
  crossEncoder: 'quire-test/tiny-cross-encoder',
} as const;

/** Writes the three tiny models under `modelsDir`, laid out as a local transformers.js models folder. */
export async function writeTinyBertModels(modelsDir: string): Promise<void> {
  await writeModel(join(modelsDir, TINY_MODELS.bge), encoderGraph(), 'BertModel');
  await writeModel(join(modelsDir, TINY_MODELS.minilm), encoderGraph(), 'BertModel');
  await writeModel(join(modelsDir, TINY_MODELS.crossEncoder), crossEncoderGraph(), 'BertForSequenceClassification');
}

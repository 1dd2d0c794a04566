/**
 * A minimal ONNX protobuf writer for test fixtures: just the ModelProto fields a tiny inference graph
 * needs (field numbers from onnx/onnx.proto). No dependency, so a fixture costs a few KB and no install.
 */

// Wire types: 0 varint, 2 length-delimited.
type Field = { no: number; varint: number } | { no: number; bytes: Uint8Array };

function varint(value: number): number[] {
  if (!Number.isInteger(value) || value < 0) throw new Error(`varint wants a non-negative integer, got ${value}`);
  const out: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

function message(fields: Field[]): Uint8Array {
  const parts: number[] = [];
  for (const field of fields) {
    if ('varint' in field) {
      parts.push(...varint(field.no << 3), ...varint(field.varint));
    } else {
      parts.push(...varint((field.no << 3) | 2), ...varint(field.bytes.length), ...field.bytes);
    }
  }
  return Uint8Array.from(parts);
}

const text = (no: number, value: string): Field => ({ no, bytes: new TextEncoder().encode(value) });
const sub = (no: number, bytes: Uint8Array): Field => ({ no, bytes });

export const ELEM_FLOAT = 1;
export const ELEM_INT64 = 7;

/** A dimension is a fixed size or a symbolic name (`batch`, `sequence`). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: number;
  shape: Dim[];
}

export interface Initializer {
  name: string;
  dims: number[];
  /** float32 values for ELEM_FLOAT, integers for ELEM_INT64. */
  values: number[];
  elemType?: number;
}

export interface Node {
  opType: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes only (axis, keepdims, to). */
  intAttributes?: Record<string, number>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Initializer[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

function valueInfo(info: ValueInfo): Uint8Array {
  const dims = info.shape.map((dim) => sub(1, message([typeof dim === 'number' ? { no: 1, varint: dim } : text(2, dim)])));
  const tensorType = message([{ no: 1, varint: info.elemType }, sub(2, message(dims))]);
  return message([text(1, info.name), sub(2, message([sub(1, tensorType)]))]);
}

function tensor(init: Initializer): Uint8Array {
  const elemType = init.elemType ?? ELEM_FLOAT;
  const expected = init.dims.reduce((a, b) => a * b, 1);
  if (init.values.length !== expected) throw new Error(`${init.name}: ${init.values.length} values for dims ${init.dims.join('x')}`);
  const raw = new Uint8Array(init.values.length * (elemType === ELEM_FLOAT ? 4 : 8));
  const view = new DataView(raw.buffer);
  init.values.forEach((value, i) => {
    if (elemType === ELEM_FLOAT) view.setFloat32(i * 4, value, true);
    else view.setBigInt64(i * 8, BigInt(value), true);
  });
  // TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian).
  return message([...init.dims.map((d) => ({ no: 1, varint: d })), { no: 2, varint: elemType }, text(8, init.name), sub(9, raw)]);
}

function node(n: Node, index: number): Uint8Array {
  // AttributeProto: name = 1, i = 3, type = 20 (INT = 2).
  const attributes = Object.entries(n.intAttributes ?? {}).map(([name, value]) =>
    sub(5, message([text(1, name), { no: 3, varint: value }, { no: 20, varint: 2 }])),
  );
  return message([...n.inputs.map((i) => text(1, i)), ...n.outputs.map((o) => text(2, o)), text(3, `${n.opType}_${index}`), text(4, n.opType), ...attributes]);
}

/** Serialises a ModelProto (IR version 8, default-domain opset `opset`). */
export function encodeModel(graph: Graph, opset = 13): Uint8Array {
  const graphBytes = message([
    ...graph.nodes.map((n, i) => sub(1, node(n, i))),
    text(2, graph.name),
    ...graph.initializers.map((init) => sub(5, tensor(init))),
    ...graph.inputs.map((info) => sub(11, valueInfo(info))),
    ...graph.outputs.map((info) => sub(12, valueInfo(info))),
  ]);
  // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 (domain "" = default).
  return message([{ no: 1, varint: 8 }, text(2, 'quire-test-fixtures'), sub(7, graphBytes), sub(8, message([{ no: 2, varint: opset }]))]);
}

/**
 * Jest runs each test file in its own realm, but onnxruntime-node's native addon creates output
 * tensors with the main realm's typed arrays, and onnxruntime-common (evaluated inside the test
 * realm) then rejects them: "A float32 tensor's data must be type of function Float32Array()".
 * Test files that run ONNX models opt in with a `@jest-environment` docblock pointing here.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class OnnxTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OnnxTestEnvironment;

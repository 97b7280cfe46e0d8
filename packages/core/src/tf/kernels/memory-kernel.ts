/**
 * One kernel body over raw float32 memory, run by both backends: on wasm straight on the wasm heap
 * (no copies), on cpu on the backend's arrays. Each body is one pass over memory, where the tfjs
 * equivalent takes two or three (step, cast, multiply, a zero-filled scatter).
 */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import { heapF32, wasmBackend } from './wasm-backend.ts';

/** The same memory as float32 values and as their int32 bit patterns (for branch-free comparisons). */
export interface Float32Memory {
  f32: Float32Array;
  i32: Int32Array;
}

export type Attrs = Record<string, unknown>;
type Body = (ins: Float32Memory[], out: Float32Memory, inputs: TensorInfo[], attrs: Attrs) => void;

/** The parts of tfjs-backend-cpu's MathBackendCPU used here. */
interface CpuBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

function memory(f32: Float32Array): Float32Memory {
  return { f32, i32: new Int32Array(f32.buffer, f32.byteOffset, f32.length) };
}

/** Kernel functions for wasm and cpu around `body`, which must write every output element. */
export function memoryKernel(
  inputNames: string[],
  outShape: (inputs: TensorInfo[], attrs: Attrs) => number[],
  body: Body,
): { wasm: KernelFunc; cpu: KernelFunc } {
  const collect = (inputs: Record<string, TensorInfo>) =>
    inputNames.map((name) => {
      const t = inputs[name];
      if (!t || t.dtype !== 'float32') throw new Error(`kernel input ${name} must be a float32 tensor`);
      return t;
    });
  const wasm: KernelFunc = ({ inputs, backend, attrs }) => {
    const ins = collect(inputs as Record<string, TensorInfo>);
    const a = (attrs ?? {}) as Attrs;
    const b = wasmBackend(backend);
    const info = b.makeOutput(outShape(ins, a), 'float32');
    // Views are taken after the allocation (heapF32).
    body(ins.map((t) => memory(heapF32(b, t))), memory(heapF32(b, info)), ins, a);
    return info;
  };
  const cpu: KernelFunc = ({ inputs, backend, attrs }) => {
    const ins = collect(inputs as Record<string, TensorInfo>);
    const a = (attrs ?? {}) as Attrs;
    const b = backend as unknown as CpuBackendLike;
    const shape = outShape(ins, a);
    const out = new Float32Array(util.sizeFromShape(shape));
    body(ins.map((t) => memory(b.readSync(t.dataId as object) as Float32Array)), memory(out), ins, a);
    return b.makeTensorInfo(shape, 'float32', out);
  };
  return { wasm, cpu };
}

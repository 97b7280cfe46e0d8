/**
 * BatchMatMul for wasm: transposed operands make the stock kernel leave XNNPACK's fast path, so
 * they are transposed explicitly first (much faster), then the stock non-transposed kernel runs.
 */
import type { BatchMatMulAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { isFloat32, release, runWasmKernel, wasmBackend, type KernelArgs } from './wasm-backend.ts';

/** The wasm kernel around `stock`, which also takes non-transposed and non-float32 operands. */
export const batchMatMul = (stock: KernelFunc | undefined): KernelFunc =>
  ((args: KernelArgs): TensorInfo => {
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if ((!transposeA && !transposeB) || !isFloat32(a, b)) return stock!(args) as TensorInfo;
    const backend = wasmBackend(args.backend);
    const swapLast = (t: TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
      return runWasmKernel(backend, 'Transpose', { x: t }, { perm });
    };
    const a2 = transposeA ? swapLast(a) : a;
    const b2 = transposeB ? swapLast(b) : b;
    const out = stock!({ inputs: { a: a2, b: b2 }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
    if (transposeA) release(backend, a2);
    if (transposeB) release(backend, b2);
    return out;
  }) as KernelFunc;

/**
 * GradsignReluMaxPool2x2Grad: the backward pass of ReLU followed by a 2×2, stride-2, 'valid'
 * max-pool, in one pass. Each window's gradient goes to its FIRST maximum in scan order
 * (row-major), as tfjs's MaxPoolGrad does, and only when that maximum is > 0 (the ReLU). `y` is the
 * ReLU output [n, h, w, c] (≥ 0); dy is [n, oh', ow', c] with oh' ≤ ⌊h/2⌋, ow' ≤ ⌊w/2⌋ (a dy that
 * covers only the top-left windows: the others have zero gradient). The result is CROPPED to the
 * rows and columns those windows cover, [n, 2·oh', 2·ow', c]: everything outside is zero (an odd
 * last row/column is in no window at all).
 *
 * NaN as in tfjs's MaxPoolGrad (cpu): a NaN activation is never a window's maximum, a window of
 * only NaN passes no gradient, and a NaN in dy reaches the maximum like any value.
 *
 * Branch-free: for non-negative float32 values the order of their bit patterns read as int32 is the
 * order of the values, so the arg-maxima are found with integer arithmetic only — no data-dependent
 * branches, whose mispredictions otherwise dominate this loop (the attacks benchmark's per-kernel
 * profile, `npm run bench -- attacks`, shows its time). On wasm with channels in fours, the SIMD
 * version runs instead.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { ZERO_KEY, orderKey } from './float-order.ts';
import { memoryKernel } from './memory-kernel.ts';
import { addKernel } from './registry.ts';
import { reluMaxPoolSimd } from './relu-max-pool-2x2-grad-simd.ts';
import { heapOffset, wasmBackend, wasmMemory } from './wasm-backend.ts';

const RELU_MAXPOOL_GRAD = 'GradsignReluMaxPool2x2Grad';

function checkShapes(dy: TensorInfo, y: TensorInfo): void {
  if (2 * dy.shape[1]! > y.shape[1]! || 2 * dy.shape[2]! > y.shape[2]! || dy.shape[3] !== y.shape[3]) {
    throw new Error(`ReluMaxPool2x2Grad: dy ${dy.shape} does not fit y ${y.shape}`);
  }
}

const outShape = (dy: TensorInfo) => [dy.shape[0]!, 2 * dy.shape[1]!, 2 * dy.shape[2]!, dy.shape[3]!];

const reluMaxPoolGrad = memoryKernel(
  ['dy', 'y'],
  ([dy]) => outShape(dy!),
  ([d, y], out, [dyInfo, yInfo]) => {
    checkShapes(dyInfo!, yInfo!);
    const [n, h, w, c] = yInfo!.shape as [number, number, number, number];
    const oh = dyInfo!.shape[1]!;
    const ow = dyInfo!.shape[2]!;
    const D = d!.i32;
    const A = y!.i32;
    const O = out.i32;
    const rowA = w * c;
    const rowO = 2 * ow * c;
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        const baseA = (b * h + 2 * r) * rowA;
        const baseO = (b * 2 * oh + 2 * r) * rowO;
        let di = (b * oh + r) * ow * c;
        for (let col = 0; col < ow; col++) {
          const a0 = baseA + 2 * col * c;
          const a1 = a0 + c;
          const a2 = a0 + rowA;
          const a3 = a2 + c;
          const o0 = baseO + 2 * col * c;
          const o1 = o0 + c;
          const o2 = o0 + rowO;
          const o3 = o2 + c;
          for (let k = 0; k < c; k++, di++) {
            const x0 = orderKey(A[a0 + k]!);
            const x1 = orderKey(A[a1 + k]!);
            const x2 = orderKey(A[a2 + k]!);
            const x3 = orderKey(A[a3 + k]!);
            const s1 = (x0 - x1) >>> 31; // 1 when x1 > x0 (a tie keeps the first)
            const m01 = x0 + ((x1 - x0) & -s1);
            const s3 = (x2 - x3) >>> 31;
            const m23 = x2 + ((x3 - x2) & -s3);
            const t = (m01 - m23) >>> 31; // 1 when the bottom row's maximum is strictly larger
            const m = m01 + ((m23 - m01) & -t);
            const g = D[di]! & -((ZERO_KEY - m) >>> 31); // the gradient passes only when the maximum is > 0
            const top = t ^ 1;
            O[o0 + k] = g & -(top & (s1 ^ 1));
            O[o1 + k] = g & -(top & s1);
            O[o2 + k] = g & -(t & (s3 ^ 1));
            O[o3 + k] = g & -(t & s3);
          }
        }
      }
    }
  },
);

/** On wasm: the SIMD version when the channels come in fours, else the JS one on the heap. */
const reluMaxPoolGradWasm: KernelFunc = (args) => {
  const { dy, y } = args.inputs as { dy: TensorInfo; y: TensorInfo };
  const backend = wasmBackend(args.backend);
  const memory = wasmMemory(backend);
  const simd = memory && dy.dtype === 'float32' && y.dtype === 'float32' && y.shape[3]! % 4 === 0 ? reluMaxPoolSimd(memory) : undefined;
  if (!simd) return reluMaxPoolGrad.wasm(args);
  checkShapes(dy, y);
  const [n, h, w, c] = y.shape as [number, number, number, number];
  const out = backend.makeOutput(outShape(dy), 'float32');
  simd.reluMaxPool2x2Grad(heapOffset(backend, y), heapOffset(backend, dy), heapOffset(backend, out), n, h, w, c, dy.shape[1]!, dy.shape[2]!);
  return out;
};

/** The backward pass of ReLU → 2×2/2 'valid' max-pool, from the ReLU output y [n,h,w,c] and dy;
 * cropped to the windows dy covers: [n, 2·oh', 2·ow', c]. */
export function reluMaxPool2x2Backward(dy: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D {
  addKernel(RELU_MAXPOOL_GRAD, { wasm: reluMaxPoolGradWasm, cpu: reluMaxPoolGrad.cpu });
  return tf.engine().runKernel(RELU_MAXPOOL_GRAD, { dy, y }) as tf.Tensor4D;
}

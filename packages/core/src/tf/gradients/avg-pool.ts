/**
 * The input gradient of AvgPool, corrected (tfjs 4.22).
 *
 * The forward AvgPool kernels (cpu: pool_utils; wasm: XNNPACK) follow TensorFlow: a window that
 * reaches into 'same' padding averages over its valid positions only, so output o is
 * Σ_{valid x in o} x / count(o). The stock gradient (tfjs-core AvgPool_grad → AvgPoolGrad kernel)
 * returns Σ_{o ∋ x} dy(o) / N instead, N = filterHeight·filterWidth for every window: too small by
 * count/N at the borders (e.g. 3×3 'same' on 4×4: corner windows have count 4, not 9).
 *
 * Fix: feed the stock AvgPoolGrad dy·N/count, so it returns Σ_{o ∋ x} dy(o)/count(o), the true
 * gradient. count is separable (valid rows × valid columns of the window), computed here from the
 * pool geometry, and broadcast over batch and channels. Where no window reaches the padding
 * (every 'valid' pool) the scale is 1 and the stock gradient runs unchanged, bit for bit.
 * Registered globally, so it serves every backend (cpu, wasm, webgpu, tfjs-node).
 */
import * as tf from '@tensorflow/tfjs';

type PoolAttrs = {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** Number of valid input positions in each output window along one axis. */
function validCounts(outSize: number, inSize: number, filter: number, stride: number, padBefore: number): number[] {
  return Array.from({ length: outSize }, (_, o) => {
    const start = o * stride - padBefore;
    return Math.min(inSize, start + filter) - Math.max(0, start);
  });
}

/** N / count(o) for each output position [1, outH, outW, 1], or undefined when it is 1 everywhere. */
export function avgPoolGradientScale(xShape: number[], dyShape: number[], attrs: PoolAttrs): Float32Array | undefined {
  const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const [outH, outW] = [dyShape[1]!, dyShape[2]!];
  const rows = validCounts(outH, info.inHeight, info.filterHeight, info.strideHeight, info.padInfo.top);
  const cols = validCounts(outW, info.inWidth, info.filterWidth, info.strideWidth, info.padInfo.left);
  const n = info.filterHeight * info.filterWidth;
  if (rows.every((r) => r === info.filterHeight) && cols.every((c) => c === info.filterWidth)) return undefined;
  const scale = new Float32Array(outH * outW);
  for (let i = 0; i < outH; i++) for (let j = 0; j < outW; j++) scale[i * outW + j] = n / (rows[i]! * cols[j]!);
  return scale;
}

const avgPoolGradConfig: tf.GradConfig = {
  kernelName: tf.AvgPool,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor4D];
    const dy4 = dy as tf.Tensor4D;
    const { filterSize, strides, pad } = attrs as unknown as PoolAttrs;
    return {
      x: () => {
        const scale = avgPoolGradientScale(x.shape, dy4.shape, attrs as unknown as PoolAttrs);
        const scaled = scale ? tf.mul(dy4, tf.tensor4d(scale, [1, dy4.shape[1], dy4.shape[2], 1])) : dy4;
        return tf.engine().runKernel(tf.AvgPoolGrad, { dy: scaled, input: x }, { filterSize, strides, pad });
      },
    };
  },
};

/** Installs the corrected AvgPool gradient (idempotent: does nothing when it is already the registered one). */
export function register(): void {
  if (tf.getGradient(tf.AvgPool) !== avgPoolGradConfig) tf.registerGradient(avgPoolGradConfig);
}

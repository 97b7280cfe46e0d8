/**
 * The input gradient of a 2D convolution, two ways, both shared by the wasm kernel below
 * (Conv2DBackpropInput: the tf.grad path) and the compiled backward pass:
 *
 *  - a forward Conv2D of dy with the filter rotated by 180° and its channels swapped, which reaches
 *    XNNPACK's fast path (stride 1 only);
 *  - a matmul cols = dy · Wᵀ and a col2im, faster while dx has few channels (and for strides > 1).
 *
 * The stock wasm kernel is a naive loop, the dominant cost of an FGSM step on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { backend_util, util, type Conv2DBackpropInputAttrs, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convGeometry } from './conv-geometry.ts';
import { MAX_SCRATCH_ELEMENTS, heapF32, isFloat32, release, runWasmKernel, wasmBackend, type ExplicitPadding, type KernelArgs } from './wasm-backend.ts';

/**
 * Up to this many dx channels, matmul + col2im beats the conv with the rotated filter (XNNPACK is
 * slow on convolutions with very few output channels). `packages/core/bench/wasm-kernels-bench.ts`
 * times this kernel by channel count.
 */
export const COL2IM_MAX_CHANNELS = 3;

/** rot180 with channels swapped, [kh, kw, ci, co] → [kh, kw, co, ci]: Reverse, then Transpose. */
const ROTATION = { dims: [0, 1], perm: [0, 1, 3, 2] };

/** The filter for the forward conv that computes dx (see conv2dBackpropInputRotated). */
export function rotateFilter(filter: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.reverse(filter, ROTATION.dims), ROTATION.perm));
}

/**
 * The padding of dy for the stride-1 forward conv with the rotated filter that computes dx, or
 * undefined where there is none (a stride > 1, or a negative pad).
 */
export function rotatedConvPadding(info: backend_util.Conv2DInfo): ExplicitPadding | undefined {
  if (info.strideHeight > 1 || info.strideWidth > 1) return undefined;
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  const bottom = info.inHeight - info.outHeight - top + info.filterHeight - 1;
  const right = info.inWidth - info.outWidth - left + info.filterWidth - 1;
  if (Math.min(top, left, bottom, right) < 0) return undefined;
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/**
 * dx [inShape] of conv2d(x, filter, strides, pad) from dy and rotateFilter(filter), as one forward
 * conv; undefined where rotatedConvPadding has none.
 */
export function conv2dBackpropInputRotated(
  dy: tf.Tensor4D,
  rotated: tf.Tensor4D,
  inShape: [number, number, number, number],
  strides: [number, number],
  pad: 'valid' | 'same',
): tf.Tensor4D | undefined {
  const [kh, kw, co, ci] = rotated.shape;
  const padding = rotatedConvPadding(backend_util.computeConv2DInfo(inShape, [kh, kw, ci, co], strides, 1, pad));
  return padding && tf.conv2d(dy, rotated, 1, padding);
}

/** The wasm kernel; `stock` takes NCHW, non-float32 and shapes it does not handle. */
export const conv2DBackpropInput = (stock: KernelFunc | undefined): KernelFunc =>
  ((args: KernelArgs): TensorInfo => {
    const backend = wasmBackend(args.backend);
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as Conv2DBackpropInputAttrs;
    const fallback = () => stock!(args) as TensorInfo;
    if (!isFloat32(dy, filter) || dataFormat === 'NCHW') return fallback();
    const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    if (!util.arraysEqual(info.outShape, dy.shape)) return fallback();
    const padding = rotatedConvPadding(info);
    const colsSize = info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
    // For a stride > 1, col2im beats both stock and a conv over zero-dilated dy.
    if (colsSize <= MAX_SCRATCH_ELEMENTS && (!padding || info.inChannels <= COL2IM_MAX_CHANNELS)) {
      return backpropInputCol2Im(backend, dy, filter, info);
    }
    if (padding) return backpropInputConv(backend, dy, filter, padding);
    return fallback();
  }) as KernelFunc;

/** dx = conv(dy, rotated filter) with explicit pads, stride 1. */
function backpropInputConv(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, padding: ExplicitPadding): TensorInfo {
  const reversed = runWasmKernel(backend, 'Reverse', { x: filter }, { dims: ROTATION.dims });
  const rotated = runWasmKernel(backend, 'Transpose', { x: reversed }, { perm: ROTATION.perm });
  release(backend, reversed);
  const dx = runWasmKernel(
    backend,
    'Conv2D',
    { x: dy, filter: rotated },
    { strides: [1, 1], dilations: [1, 1], pad: padding as unknown as NamedAttrMap[string], dataFormat: 'NHWC' },
  );
  release(backend, rotated);
  return dx;
}

/**
 * cols[n·oh·ow, kh·kw·ci] = dy[n·oh·ow, co] · filter[kh·kw·ci, co]ᵀ, then scatter-add (col2im) the
 * columns into dx, any stride and padding. Accumulates in float32 in output-position order; the
 * compiled path's Col2ImValid gathers in float64 instead, so the two differ in the last bits and
 * each path keeps its own (the tf.grad path's bits feed trained models and bucketing diagnostics).
 */
function backpropInputCol2Im(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { n, h, w, oh, ow, ci, co, kh, kw, sh, sw, pt, pl, k, m } = convGeometry(info);

  const filterT = runWasmKernel(backend, 'Transpose', { x: { ...filter, shape: [k, co] } }, { perm: [1, 0] }); // [co, k]
  const cols = runWasmKernel(
    backend,
    'BatchMatMul',
    { a: { ...dy, shape: [1, m, co] }, b: { ...filterT, shape: [1, co, k] } },
    { transposeA: false, transposeB: false },
  );
  release(backend, filterT);

  const dx = backend.makeOutput([n, h, w, ci], 'float32');
  const src = heapF32(backend, cols);
  const dst = heapF32(backend, dx);
  dst.fill(0);
  const rowStride = w * ci;
  for (let b = 0; b < n; b++) {
    const dxBatch = b * h * rowStride;
    for (let r = 0; r < oh; r++) {
      for (let c = 0; c < ow; c++) {
        let s = ((b * oh + r) * ow + c) * k;
        for (let fr = 0; fr < kh; fr++) {
          const y = r * sh + fr - pt;
          if (y < 0 || y >= h) {
            s += kw * ci;
            continue;
          }
          for (let fc = 0; fc < kw; fc++, s += ci) {
            const x = c * sw + fc - pl;
            if (x < 0 || x >= w) continue;
            let d = dxBatch + y * rowStride + x * ci;
            for (let i = 0; i < ci; i++) dst[d++] += src[s + i];
          }
        }
      }
    }
  }
  release(backend, cols);
  return dx;
}

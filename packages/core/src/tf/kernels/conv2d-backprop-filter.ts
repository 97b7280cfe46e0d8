/**
 * Conv2DBackpropFilter for wasm, which tfjs-backend-wasm lacks (training a conv net on wasm fails
 * without it). NHWC and NCHW, any stride and padding; float32 only (there is no stock kernel to
 * fall back to).
 */
import { backend_util, util, type Conv2DBackpropFilterAttrs, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convGeometry } from './conv-geometry.ts';
import { MAX_SCRATCH_ELEMENTS, heapF32, isFloat32, release, runWasmKernel, wasmBackend, type ExplicitPadding, type KernelArgs } from './wasm-backend.ts';

/** Use im2col + matmul (instead of a conv) up to this many x channels. */
const IM2COL_MAX_X_CHANNELS = 8;

/**
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[n,oh,ow,co]
 *
 * That is a forward convolution of x' = x transposed to [ci, H, W, N] (batch ci, N channels) with
 * the "filter" dy' = dy transposed to [OH, OW, N, co], dilated by the stride: out[ci,kh,kw,co] =
 * Σ x'[ci, kh + oh·s − pt, kw + ow·s − pl, n] · dy'[oh,ow,n,co]. The result [ci, KH, KW, co] is
 * transposed to [KH, KW, ci, co]. Rows/columns of x never touched by the forward conv (valid padding
 * with a stride) would need a negative bottom/right padding: pad 0 instead and drop the extra output
 * rows/columns.
 */
function backpropFilter(args: KernelArgs): TensorInfo {
  const backend = wasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (!isFloat32(x, dy)) throw new Error('Conv2DBackpropFilter on wasm supports float32 tensors only');
  const $dataFormat = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, $dataFormat);
  const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { inChannels: ci, outChannels: co } = info;
  const channelsLast = info.dataFormat === 'channelsLast';
  if (!util.arraysEqual(info.outShape, dy.shape)) {
    throw new Error(`Conv2DBackpropFilter: dy shape ${dy.shape} does not match the conv output ${info.outShape}`);
  }
  // Measured (batch 256, 3x3, 32 filters): im2col + matmul is ~3x faster than the conv below for
  // 1-2 input channels, on par around 8, slower for 32.
  const colsSize = info.batchSize * oh * ow * kh * kw * ci;
  if (channelsLast && ci <= IM2COL_MAX_X_CHANNELS && colsSize <= MAX_SCRATCH_ELEMENTS) {
    return backpropFilterIm2Col(backend, x, dy, info);
  }

  // x -> [ci, H, W, N]; dy -> [OH, OW, N, co]
  const xT = runWasmKernel(backend, 'Transpose', { x }, { perm: channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0] });
  const dyT = runWasmKernel(backend, 'Transpose', { x: dy }, { perm: channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1] });

  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const padBottom = kh + (oh - 1) * sh - h - padTop;
  const padRight = kw + (ow - 1) * sw - w - padLeft;
  const explicit: ExplicitPadding = [
    [0, 0],
    [padTop, Math.max(0, padBottom)],
    [padLeft, Math.max(0, padRight)],
    [0, 0],
  ];
  const conv = runWasmKernel(
    backend,
    'Conv2D',
    { x: xT, filter: dyT },
    { strides: [1, 1], dilations: [sh, sw], pad: explicit as unknown as NamedAttrMap[string], dataFormat: 'NHWC' },
  );
  release(backend, xT, dyT);

  let cropped = conv;
  if (padBottom < 0 || padRight < 0) {
    cropped = runWasmKernel(backend, 'Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    release(backend, conv);
  }
  const dW = runWasmKernel(backend, 'Transpose', { x: cropped }, { perm: [1, 2, 0, 3] });
  release(backend, cropped);
  return dW;
}

/** dW[k, co] = xcolᵀ[k, M] · dy[M, co] with k = (kh, kw, ci), M = (n, oh, ow); xcolᵀ is gathered
 * directly in that (transposed) layout. NHWC only. */
function backpropFilterIm2Col(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { n, h, w, oh, ow, ci, co, kh, kw, sh, sw, pt, pl, k, m } = convGeometry(info);
  const colsT = backend.makeOutput([1, k, m], 'float32');
  const src = heapF32(backend, x);
  const dst = heapF32(backend, colsT);
  for (let fr = 0; fr < kh; fr++) {
    for (let fc = 0; fc < kw; fc++) {
      for (let i = 0; i < ci; i++) {
        let d = ((fr * kw + fc) * ci + i) * m;
        for (let b = 0; b < n; b++) {
          for (let r = 0; r < oh; r++) {
            const y = r * sh + fr - pt;
            if (y < 0 || y >= h) {
              dst.fill(0, d, d + ow);
              d += ow;
              continue;
            }
            const rowBase = (b * h + y) * w;
            for (let c = 0; c < ow; c++) {
              const xx = c * sw + fc - pl;
              dst[d++] = xx >= 0 && xx < w ? src[(rowBase + xx) * ci + i] : 0;
            }
          }
        }
      }
    }
  }
  const dW = runWasmKernel(backend, 'BatchMatMul', { a: colsT, b: { ...dy, shape: [1, m, co] } }, { transposeA: false, transposeB: false });
  release(backend, colsT);
  return { ...dW, shape: [kh, kw, ci, co] };
}

/** wasm has no stock Conv2DBackpropFilter: nothing to fall back to. */
export const conv2DBackpropFilter = (): KernelFunc => backpropFilter as KernelFunc;

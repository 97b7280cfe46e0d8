/**
 * DepthwiseConv2dNativeBackpropInput for the wasm backend, which tfjs-backend-wasm 4.22 lacks:
 * without it the input gradient of any DepthwiseConv2D/SeparableConv2D model fails on wasm
 * ("Kernel 'DepthwiseConv2dNativeBackpropInput' not registered").
 *
 * The transpose of the depthwise convolution, as a scatter over the forward windows:
 * dx[b, i(o, tap), c] += Σ_m dy[b, o, c·M + m] · filter[tap, c, m], with i(o, tap) the input pixel
 * tap (ky, kx) of output pixel o reads (strides, dilations, padding as in the forward pass).
 * Accumulated in float64 and rounded once, like the cpu kernel. NHWC, float32.
 */
import { backend_util, type DepthwiseConv2dNativeBackpropInputAttrs, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export function depthwiseConv2dNativeBackpropInput(args: { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap }): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') throw new Error('DepthwiseConv2dNativeBackpropInput on wasm supports float32 tensors only');
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, true);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const m = outChannels / c;
  const acc = new Float64Array(n * h * w * c);
  // Heap views of dy and filter are used up before makeOutput, which may grow (and so detach) the heap.
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const filters = backend.typedArrayFromHeap(filter) as Float32Array;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const dyBase = ((b * oh + oy) * ow + ox) * outChannels;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - info.padInfo.top + ky * dh;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - info.padInfo.left + kx * dw;
            if (ix < 0 || ix >= w) continue;
            const dxBase = ((b * h + iy) * w + ix) * c;
            const filterBase = (ky * kw + kx) * c * m;
            for (let ch = 0; ch < c; ch++) {
              let sum = 0;
              for (let j = 0; j < m; j++) sum += dys[dyBase + ch * m + j]! * filters[filterBase + ch * m + j]!;
              acc[dxBase + ch] += sum;
            }
          }
        }
      }
    }
  }
  const dx = backend.makeOutput(info.inShape, 'float32');
  (backend.typedArrayFromHeap(dx) as Float32Array).set(acc);
  return dx;
}

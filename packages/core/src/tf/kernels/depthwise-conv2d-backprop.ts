/**
 * The depthwise convolution's gradient kernels for the wasm backend, which tfjs-backend-wasm 4.22
 * lacks: without them the input gradient of a DepthwiseConv2D/SeparableConv2D layers model
 * (BackpropInput) or of a graph model's FusedDepthwiseConv2dNative (its custom gradient computes
 * the filter gradient too) fails on wasm with "Kernel '…' not registered".
 *
 * Both are sums over the forward windows: with i(o, tap) the input pixel that tap (ky, kx) of
 * output pixel o reads (strides, dilations, padding as in the forward pass) and M the depth
 * multiplier,
 *   dx[b, i(o, tap), c]   += Σ_m dy[b, o, c·M + m] · filter[tap, c, m]
 *   dW[tap, c, m]         += Σ_{b,o} x[b, i(o, tap), c] · dy[b, o, c·M + m]
 * accumulated in float64 and rounded once, like the cpu kernels. NHWC, float32.
 */
import {
  backend_util,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { heapF32, isFloat32, wasmBackend, type KernelArgs } from './wasm-backend.ts';

/** Calls visit(dyBase, inBase, tapBase) for every (batch, output pixel, tap) whose input pixel is inside the image. */
function forEachWindowTap(info: backend_util.Conv2DInfo, visit: (dyBase: number, inBase: number, tapBase: number) => void): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const dyBase = ((b * oh + oy) * ow + ox) * outChannels;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - info.padInfo.top + ky * dh;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - info.padInfo.left + kx * dw;
            if (ix >= 0 && ix < w) visit(dyBase, ((b * h + iy) * w + ix) * c, (ky * kw + kx) * outChannels);
          }
        }
      }
    }
  }
}

function float32Only(name: string, ...infos: TensorInfo[]): void {
  if (!isFloat32(...infos)) throw new Error(`${name} on wasm supports float32 tensors only`);
}

function backpropInput(args: KernelArgs): TensorInfo {
  const backend = wasmBackend(args.backend);
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  float32Only('DepthwiseConv2dNativeBackpropInput', dy, filter);
  const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, dilations, pad, dimRoundingMode, true);
  const { inChannels: c, outChannels } = info;
  const m = outChannels / c;
  const acc = new Float64Array(info.batchSize * info.inHeight * info.inWidth * c);
  // Heap views of the inputs are used up before makeOutput, which may grow (and so detach) the heap.
  const dys = heapF32(backend, dy);
  const filters = heapF32(backend, filter);
  forEachWindowTap(info, (dyBase, inBase, tapBase) => {
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (let j = 0; j < m; j++) sum += dys[dyBase + ch * m + j]! * filters[tapBase + ch * m + j]!;
      acc[inBase + ch] += sum;
    }
  });
  const dx = backend.makeOutput(info.inShape, 'float32');
  heapF32(backend, dx).set(acc);
  return dx;
}

function backpropFilter(args: KernelArgs): TensorInfo {
  const backend = wasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  float32Only('DepthwiseConv2dNativeBackpropFilter', x, dy);
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, dilations, pad, dimRoundingMode, true);
  const { inChannels: c, outChannels } = info;
  const m = outChannels / c;
  const acc = new Float64Array(info.filterHeight * info.filterWidth * outChannels);
  const xs = heapF32(backend, x);
  const dys = heapF32(backend, dy);
  forEachWindowTap(info, (dyBase, inBase, tapBase) => {
    for (let ch = 0; ch < c; ch++) {
      const v = xs[inBase + ch]!;
      for (let j = 0; j < m; j++) acc[tapBase + ch * m + j] += v * dys[dyBase + ch * m + j]!;
    }
  });
  const dW = backend.makeOutput(filterShape, 'float32');
  heapF32(backend, dW).set(acc);
  return dW;
}

/** wasm has no stock kernels for these: each "replacement" is the kernel itself. */
export const depthwiseConv2dNativeBackpropInput = (): KernelFunc => backpropInput as KernelFunc;
export const depthwiseConv2dNativeBackpropFilter = (): KernelFunc => backpropFilter as KernelFunc;

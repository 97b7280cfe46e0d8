/**
 * MaxPoolGrad for wasm: a tight loop over the wasm heap with the semantics of tfjs's cpu kernel,
 * bit for bit (the stock wasm kernel gives ties to the LAST maximum, and a window of values below
 * FLT_MIN to its first position):
 *
 * for each pooling window the gradient goes to the FIRST position (row-major scan of the in-bounds
 * window) holding a value strictly greater than all before it, starting from −∞. So a NaN input
 * never wins and a window of only NaN/−∞ passes no gradient; a NaN in dy reaches its window's
 * maximum like any value. Overlapping windows (stride < filter) accumulate in float64 and round
 * once, as the cpu kernel does.
 */
import { backend_util, type KernelFunc, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs';
import { heapF32, isFloat32, wasmBackend, type KernelArgs } from './wasm-backend.ts';

/** The wasm kernel; `stock` takes non-float32 tensors. */
export const maxPoolGrad = (stock: KernelFunc | undefined): KernelFunc =>
  ((args: KernelArgs): TensorInfo => {
    const backend = wasmBackend(args.backend);
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    if (!isFloat32(dy, input)) return stock!(args) as TensorInfo;
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs;
    const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: ch, outHeight: oh, outWidth: ow } = info;
    const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
    const pt = info.padInfo.top;
    const pl = info.padInfo.left;
    const overlapping = sh < fh || sw < fw;

    const dx = backend.makeOutput(input.shape, 'float32');
    const xs = heapF32(backend, input);
    const dys = heapF32(backend, dy);
    const out = heapF32(backend, dx);
    // With disjoint windows every dx element receives at most one value, so the float32 output can
    // be written directly.
    const acc: Float32Array | Float64Array = overlapping ? new Float64Array(out.length) : out;
    acc.fill(0);

    // Element offsets (channel 0) of the in-bounds window positions, in scan order.
    const window = new Int32Array(fh * fw);
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        const r0 = r * sh - pt;
        const rMin = Math.max(0, r0);
        const rMax = Math.min(h, r0 + fh);
        for (let c = 0; c < ow; c++) {
          const c0 = c * sw - pl;
          const cMin = Math.max(0, c0);
          const cMax = Math.min(w, c0 + fw);
          let size = 0;
          for (let y = rMin; y < rMax; y++) {
            for (let x = cMin; x < cMax; x++) window[size++] = ((b * h + y) * w + x) * ch;
          }
          const dyBase = ((b * oh + r) * ow + c) * ch;
          if (size === 4) {
            // Unrolled common case (e.g. a full 2x2 window); same comparisons as below.
            const p0 = window[0];
            const p1 = window[1];
            const p2 = window[2];
            const p3 = window[3];
            for (let d = 0; d < ch; d++) {
              let best = Number.NEGATIVE_INFINITY;
              let bestIdx = -1;
              let v = xs[p0 + d];
              if (v > best) {
                best = v;
                bestIdx = p0 + d;
              }
              v = xs[p1 + d];
              if (v > best) {
                best = v;
                bestIdx = p1 + d;
              }
              v = xs[p2 + d];
              if (v > best) {
                best = v;
                bestIdx = p2 + d;
              }
              v = xs[p3 + d];
              if (v > best) bestIdx = p3 + d;
              if (bestIdx >= 0) acc[bestIdx] += dys[dyBase + d];
            }
            continue;
          }
          for (let d = 0; d < ch; d++) {
            let best = Number.NEGATIVE_INFINITY;
            let bestIdx = -1;
            for (let j = 0; j < size; j++) {
              const i = window[j] + d;
              const v = xs[i];
              if (v > best) {
                best = v;
                bestIdx = i;
              }
            }
            if (bestIdx >= 0) acc[bestIdx] += dys[dyBase + d];
          }
        }
      }
    }
    if (overlapping) out.set(acc);
    return dx;
  }) as KernelFunc;

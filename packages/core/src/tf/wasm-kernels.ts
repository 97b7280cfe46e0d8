/**
 * Faster / missing gradient kernels for the tfjs wasm backend (4.22).
 *
 * `registerWasmKernels()` installs, for backend 'wasm':
 *
 *  - Conv2DBackpropFilter: missing from tfjs-backend-wasm, so training a conv
 *    net on wasm fails without it. Computed as im2col + matmul when x has few
 *    channels, otherwise as a forward Conv2D in which the batch dimension plays
 *    the role of the channels (see `conv2DBackpropFilter`).
 *  - DepthwiseConv2dNativeBackpropInput/Filter: missing from tfjs-backend-wasm,
 *    so the input gradient of a depthwise/separable conv (and of a graph model's
 *    FusedDepthwiseConv2dNative, whose gradient computes both) fails on wasm
 *    without them (`wasm-depthwise-backprop.ts`).
 *  - Conv2DBackpropInput: the stock kernel is a naive loop (the dominant cost of
 *    an FGSM step). Computed as a forward Conv2D of dy with the filter rotated by
 *    180° and its in/out channels swapped, which reaches XNNPACK's fast path, or
 *    as a matmul + col2im when dx has few channels or the stride is > 1.
 *  - MaxPoolGrad: a tight JS loop over the wasm heap that reproduces the cpu
 *    kernel bit for bit (first maximum in scan order gets the gradient).
 *  - BatchMatMul with transposeA/transposeB: the operands are transposed with
 *    wasm's Transpose first, then the stock non-transposed BatchMatMul (XNNPACK)
 *    runs. The non-transposed case goes straight to the stock kernel.
 *
 * Every replacement falls back to the stock kernel for attributes it does not
 * handle (NCHW, non-float32, ...), so it never computes a different result.
 * (Conv2DBackpropFilter and the depthwise ones have no stock kernel: they
 * handle any stride and padding and throw for non-float32 inputs.)
 *
 * Building blocks are wasm's own kernels, called through
 * `getKernel(name, 'wasm').kernelFunc(...)`. Intermediates they return are
 * released with `backend.disposeData`. When reading/writing the heap directly,
 * outputs are allocated BEFORE Float32Array views are taken: an allocation may
 * grow the wasm memory, which detaches previously created views.
 */
import '@tensorflow/tfjs-backend-wasm'; // registers the wasm backend and its stock kernels first
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  util,
  type BatchMatMulAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput } from './wasm-depthwise-backprop.ts';

const BACKEND = 'wasm';

/** Conv2DBackpropInput: use matmul + col2im (instead of a conv) up to this many dx channels. */
const COL2IM_MAX_DX_CHANNELS = 3;
/** Conv2DBackpropFilter: use im2col + matmul (instead of a conv) up to this many x channels. */
const IM2COL_MAX_X_CHANNELS = 8;
/** Largest im2col/col2im scratch matrix (float32 elements, 256 MB) before
 * falling back to a path without one. */
const MAX_SCRATCH_ELEMENTS = 1 << 26;

type KernelArgs = { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap };
type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** Marks configs created here (registration stays idempotent) and keeps the
 * stock config each one replaced, so it can be restored. */
const OURS = Symbol.for('gradsign.wasmKernels.replacedStock');
type OurConfig = KernelConfig & { [OURS]: { stock: KernelConfig | undefined } };

/** Stock configs replaced by this module (undefined: wasm has none), used by
 * the fallback paths. */
const stockConfigs = new Map<string, KernelConfig | undefined>();

// ---------------------------------------------------------------------------
// Small helpers around the wasm backend.

function wasmBackend(backend: {}): BackendWasm {
  return backend as BackendWasm;
}

/** Runs a wasm kernel (stock or registered) by name. */
function runKernel(
  backend: BackendWasm,
  name: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const config = getKernel(name, BACKEND);
  if (config == null) throw new Error(`wasm kernel '${name}' is not registered`);
  return config.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return runKernel(backend, 'Transpose', { x }, { perm });
}

/** A Float32Array view of a tensor's data on the wasm heap. Take it only after
 * the last allocation that precedes its use (memory growth detaches views). */
function f32(backend: BackendWasm, info: TensorInfo): Float32Array {
  const heap = (backend.wasm as unknown as { HEAPF32: Float32Array }).HEAPF32;
  const { memoryOffset } = backend.dataIdMap.get(info.dataId)!;
  return new Float32Array(heap.buffer, memoryOffset, util.sizeFromShape(info.shape));
}

function isFloat32(...infos: TensorInfo[]): boolean {
  return infos.every((t) => t.dtype === 'float32');
}

// ---------------------------------------------------------------------------
// Conv2DBackpropFilter

/**
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[n,oh,ow,co]
 *
 * That is a forward convolution of x' = x transposed to [ci, H, W, N] (batch ci,
 * N channels) with the "filter" dy' = dy transposed to [OH, OW, N, co], dilated
 * by the stride: out[ci,kh,kw,co] = Σ x'[ci, kh + oh·s − pt, kw + ow·s − pl, n] ·
 * dy'[oh,ow,n,co]. The result [ci, KH, KW, co] is transposed to [KH, KW, ci, co].
 * Rows/columns of x never touched by the forward conv (valid padding with a
 * stride) would need a negative bottom/right padding: pad 0 instead and drop
 * the extra output rows/columns.
 */
function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const backend = wasmBackend(args.backend);
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (!isFloat32(x, dy)) {
    throw new Error('Conv2DBackpropFilter on wasm supports float32 tensors only');
  }
  const $dataFormat = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    $dataFormat,
  );
  const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { inChannels: ci, outChannels: co } = info;
  const channelsLast = info.dataFormat === 'channelsLast';
  if (!util.arraysEqual(info.outShape, dy.shape)) {
    throw new Error(`Conv2DBackpropFilter: dy shape ${dy.shape} does not match the conv output ${info.outShape}`);
  }
  // Measured (batch 256, 3x3, 32 filters): im2col + matmul is ~3x faster than
  // the conv below for 1-2 input channels, on par around 8, slower for 32.
  const colsSize = info.batchSize * oh * ow * kh * kw * ci;
  if (channelsLast && ci <= IM2COL_MAX_X_CHANNELS && colsSize <= MAX_SCRATCH_ELEMENTS) {
    return backpropFilterIm2Col(backend, x, dy, info);
  }

  // x -> [ci, H, W, N]; dy -> [OH, OW, N, co]
  const xT = transpose(backend, x, channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0]);
  const dyT = transpose(backend, dy, channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1]);

  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const padBottom = kh + (oh - 1) * sh - h - padTop;
  const padRight = kw + (ow - 1) * sw - w - padLeft;
  const conv = runKernel(
    backend,
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      dilations: [sh, sw],
      pad: [
        [0, 0],
        [padTop, Math.max(0, padBottom)],
        [padLeft, Math.max(0, padRight)],
        [0, 0],
      ] as ExplicitPadding as unknown as NamedAttrMap[string],
      dataFormat: 'NHWC',
    },
  );
  release(backend, xT, dyT);

  let cropped = conv;
  if (padBottom < 0 || padRight < 0) {
    cropped = runKernel(backend, 'Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    release(backend, conv);
  }
  const dW = transpose(backend, cropped, [1, 2, 0, 3]);
  release(backend, cropped);
  return dW;
}

/** dW[k, co] = xcolᵀ[k, M] · dy[M, co] with k = (kh, kw, ci), M = (n, oh, ow);
 * xcolᵀ is gathered directly in that (transposed) layout. NHWC only. */
function backpropFilterIm2Col(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const k = kh * kw * ci;
  const m = n * oh * ow;
  const colsT = backend.makeOutput([1, k, m], 'float32');
  const src = f32(backend, x);
  const dst = f32(backend, colsT);
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
  const dW = runKernel(
    backend,
    'BatchMatMul',
    { a: colsT, b: { ...dy, shape: [1, m, co] } },
    { transposeA: false, transposeB: false },
  );
  release(backend, colsT);
  return { ...dW, shape: [kh, kw, ci, co] };
}

// ---------------------------------------------------------------------------
// Conv2DBackpropInput

function conv2DBackpropInput(args: KernelArgs): TensorInfo {
  const stock = stockConfigs.get('Conv2DBackpropInput')!;
  const backend = wasmBackend(args.backend);
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    args.attrs as unknown as Conv2DBackpropInputAttrs;
  if (!isFloat32(dy, filter) || dataFormat === 'NCHW') return stock.kernelFunc(args) as TensorInfo;

  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (!util.arraysEqual(info.outShape, dy.shape)) return stock.kernelFunc(args) as TensorInfo;
  const strided = info.strideHeight > 1 || info.strideWidth > 1;
  // Padding of dy for the equivalent stride-1 forward conv.
  const padTop = info.filterHeight - 1 - info.padInfo.top;
  const padLeft = info.filterWidth - 1 - info.padInfo.left;
  const padBottom = info.inHeight - info.outHeight - padTop + info.filterHeight - 1;
  const padRight = info.inWidth - info.outWidth - padLeft + info.filterWidth - 1;
  const convOk = !strided && Math.min(padTop, padLeft, padBottom, padRight) >= 0;
  const colsSize = info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
  const col2imOk = colsSize <= MAX_SCRATCH_ELEMENTS;

  // Measured (batch 256, 3x3): with < 4 dx channels XNNPACK's conv is slow
  // (e.g. 1 channel: conv 31 ms, col2im 17 ms, stock 43 ms); with 32 channels
  // the conv wins (52 ms vs 68 ms col2im, 490 ms stock). For stride 2 col2im
  // beats both stock and a conv over zero-dilated dy.
  if (col2imOk && (strided || info.inChannels <= COL2IM_MAX_DX_CHANNELS || !convOk)) {
    return backpropInputCol2Im(backend, dy, filter, info);
  }
  if (convOk) {
    return backpropInputConv(backend, dy, filter, [
      [0, 0],
      [padTop, padBottom],
      [padLeft, padRight],
      [0, 0],
    ]);
  }
  return stock.kernelFunc(args) as TensorInfo;
}

/** filter [KH, KW, ci, co] -> rotated by 180° with channels swapped [KH, KW, co, ci]. */
function rotateFilter(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const out = backend.makeOutput([kh, kw, co, ci], 'float32');
  const src = f32(backend, filter);
  const dst = f32(backend, out);
  const taps = kh * kw;
  for (let t = 0; t < taps; t++) {
    const s = (taps - 1 - t) * ci * co; // (KH-1-r, KW-1-c) is tap taps-1-t
    const d = t * co * ci;
    for (let i = 0; i < ci; i++) {
      for (let o = 0; o < co; o++) dst[d + o * ci + i] = src[s + i * co + o];
    }
  }
  return out;
}

/** Stride 1, non-negative padding: dx = conv(dy, rot180(filter)ᵀ) with explicit pads. */
function backpropInputConv(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  pad: ExplicitPadding,
): TensorInfo {
  const rotated = rotateFilter(backend, filter);
  const dx = runKernel(
    backend,
    'Conv2D',
    { x: dy, filter: rotated },
    { strides: [1, 1], dilations: [1, 1], pad: pad as unknown as NamedAttrMap[string], dataFormat: 'NHWC' },
  );
  release(backend, rotated);
  return dx;
}

/** cols[n·oh·ow, kh·kw·ci] = dy[n·oh·ow, co] · filter[kh·kw·ci, co]ᵀ, then
 * scatter-add (col2im) the columns into dx. */
function backpropInputCol2Im(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const k = kh * kw * ci;
  const m = n * oh * ow;

  const filterT = transpose(backend, { ...filter, shape: [k, co] }, [1, 0]); // [co, k]
  const cols = runKernel(
    backend,
    'BatchMatMul',
    { a: { ...dy, shape: [1, m, co] }, b: { ...filterT, shape: [1, co, k] } },
    { transposeA: false, transposeB: false },
  );
  release(backend, filterT);

  const dx = backend.makeOutput([n, h, w, ci], 'float32');
  const src = f32(backend, cols);
  const dst = f32(backend, dx);
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

// ---------------------------------------------------------------------------
// MaxPoolGrad

/**
 * Same result as the cpu kernel: for each pooling window the gradient goes to the
 * FIRST position (row-major scan of the in-bounds window) holding a value strictly
 * greater than all before it, starting from −∞ (NaN never wins; a window of only
 * NaN/−∞ passes no gradient). Overlapping windows (stride < filter) accumulate in
 * float64 and round once, as the cpu kernel does.
 */
function maxPoolGrad(args: KernelArgs): TensorInfo {
  const stock = stockConfigs.get('MaxPoolGrad')!;
  const backend = wasmBackend(args.backend);
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  if (!isFloat32(dy, input)) return stock.kernelFunc(args) as TensorInfo;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as MaxPoolGradAttrs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ch, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const overlapping = sh < fh || sw < fw;

  const dx = backend.makeOutput(input.shape, 'float32');
  const xs = f32(backend, input);
  const dys = f32(backend, dy);
  const out = f32(backend, dx);
  // With disjoint windows every dx element receives at most one value, so the
  // float32 output can be written directly.
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
}

// ---------------------------------------------------------------------------
// BatchMatMul

/** Transposed operands make wasm's BatchMatMul leave XNNPACK's fast path;
 * transposing them explicitly first is much faster. */
function batchMatMul(args: KernelArgs): TensorInfo {
  const stock = stockConfigs.get('BatchMatMul')!;
  const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  if ((!transposeA && !transposeB) || !isFloat32(a, b)) return stock.kernelFunc(args) as TensorInfo;
  const backend = wasmBackend(args.backend);
  const swapLast = (t: TensorInfo) => {
    const perm = t.shape.map((_, i) => i);
    const r = perm.length;
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transpose(backend, t, perm);
  };
  const a2 = transposeA ? swapLast(a) : a;
  const b2 = transposeB ? swapLast(b) : b;
  const out = stock.kernelFunc({
    inputs: { a: a2, b: b2 },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as TensorInfo;
  if (transposeA) release(backend, a2);
  if (transposeB) release(backend, b2);
  return out;
}

// ---------------------------------------------------------------------------
// Registration

const replacements: Record<string, KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter as KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseConv2dNativeBackpropInput as KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseConv2dNativeBackpropFilter as KernelFunc,
  Conv2DBackpropInput: conv2DBackpropInput as KernelFunc,
  MaxPoolGrad: maxPoolGrad as KernelFunc,
  BatchMatMul: batchMatMul as KernelFunc,
};

function isOurs(config: KernelConfig | undefined): config is OurConfig {
  return config != null && OURS in config;
}

/**
 * Registers the replacement kernels for the wasm backend. Idempotent. Works
 * before or after the wasm backend is initialised: each replacement's setupFunc
 * runs the stock kernel's setup, which its fallback path relies on.
 */
export function registerWasmKernels(): void {
  for (const [kernelName, kernelFunc] of Object.entries(replacements)) {
    const current = getKernel(kernelName, BACKEND);
    if (isOurs(current)) continue;
    stockConfigs.set(kernelName, current);
    if (current != null) unregisterKernel(kernelName, BACKEND);
    const config: OurConfig = {
      kernelName,
      backendName: BACKEND,
      kernelFunc,
      setupFunc: current?.setupFunc,
      disposeFunc: current?.disposeFunc,
      [OURS]: { stock: current },
    };
    registerKernel(config);
  }
}

/** Restores the stock wasm kernels (Conv2DBackpropFilter becomes unregistered
 * again). For benchmarks and tests. */
export function unregisterWasmKernels(): void {
  for (const kernelName of Object.keys(replacements)) {
    const current = getKernel(kernelName, BACKEND);
    if (!isOurs(current)) continue;
    unregisterKernel(kernelName, BACKEND);
    const { stock } = current[OURS];
    if (stock != null) registerKernel(stock);
  }
}

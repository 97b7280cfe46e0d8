/** Conv2D (forward + VJP), DepthwiseConv2D and SeparableConv2D in float64, channels last, TF padding. */
import { activation64 } from '../activations.ts';
import { addBias, channelsLast, required, windowOf, type LayerBuilder, type LayerParts } from '../layer64.ts';
import { hwc, window2D, zeros, type T64, type Window2D } from '../tensor64.ts';

/**
 * Every (output pixel, kernel tap) pair whose input pixel lies inside the image, as flat triples
 * [outPixel, inPixel, tap] (pixel = row·width + column); padding positions simply have no pair.
 */
const tapCache = new Map<string, { outH: number; outW: number; pairs: Int32Array }>();

function taps(inShape: [number, number, number], win: Window2D): { outH: number; outW: number; pairs: Int32Array } {
  const key = JSON.stringify([inShape[0], inShape[1], win]);
  let found = tapCache.get(key);
  if (!found) tapCache.set(key, (found = computeTaps(inShape, win)));
  return found;
}

function computeTaps(inShape: [number, number, number], win: Window2D): { outH: number; outW: number; pairs: Int32Array } {
  const [h, w] = inShape;
  const { outH, outW, padTop, padLeft } = window2D(h, w, win);
  const [kh, kw] = win.kernel;
  const pairs: number[] = [];
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * win.strides[0] - padTop + ky * win.dilation[0];
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = ox * win.strides[1] - padLeft + kx * win.dilation[1];
          if (ix >= 0 && ix < w) pairs.push(oy * outW + ox, iy * w + ix, ky * kw + kx);
        }
      }
    }
  }
  return { outH, outW, pairs: Int32Array.from(pairs) };
}

/** y[o, co] = Σ_tap Σ_ci x[i(o, tap), ci] · k[tap, ci, co]; kernel [kh, kw, cin, cout]. */
export function conv2d(x: T64, kernel: T64, win: Window2D, layer: string): T64 {
  const [h, w, cin] = hwc(x, layer);
  const cout = kernel.shape[3]!;
  const { outH, outW, pairs } = taps([h, w, cin], win);
  const y = new Float64Array(outH * outW * cout);
  const [xs, k] = [x.data, kernel.data];
  for (let p = 0; p < pairs.length; p += 3) {
    const outBase = pairs[p]! * cout;
    const inBase = pairs[p + 1]! * cin;
    const tapBase = pairs[p + 2]! * cin;
    for (let ci = 0; ci < cin; ci++) {
      const v = xs[inBase + ci]!;
      if (v === 0) continue;
      const kBase = (tapBase + ci) * cout;
      for (let co = 0; co < cout; co++) y[outBase + co] += v * k[kBase + co]!;
    }
  }
  return { shape: [outH, outW, cout], data: y };
}

/** The transpose of conv2d: dx[i(o, tap), ci] += Σ_co dy[o, co] · k[tap, ci, co]. */
export function conv2dBackward(dy: T64, kernel: T64, win: Window2D, inShape: [number, number, number]): T64 {
  const cin = inShape[2];
  const cout = kernel.shape[3]!;
  const { pairs } = taps(inShape, win);
  const dx = zeros(inShape);
  const [d, g, k] = [dx.data, dy.data, kernel.data];
  for (let p = 0; p < pairs.length; p += 3) {
    const outBase = pairs[p]! * cout;
    const inBase = pairs[p + 1]! * cin;
    const tapBase = pairs[p + 2]! * cin;
    for (let ci = 0; ci < cin; ci++) {
      const kBase = (tapBase + ci) * cout;
      let sum = 0;
      for (let co = 0; co < cout; co++) sum += g[outBase + co]! * k[kBase + co]!;
      d[inBase + ci] += sum;
    }
  }
  return dx;
}

/** y[o, ci·m + j] = Σ_tap x[i(o, tap), ci] · k[tap, ci, j]; kernel [kh, kw, cin, m]. */
export function depthwiseConv2d(x: T64, kernel: T64, win: Window2D, layer: string): T64 {
  const [h, w, cin] = hwc(x, layer);
  const m = kernel.shape[3]!;
  const { outH, outW, pairs } = taps([h, w, cin], win);
  const y = zeros([outH, outW, cin * m]);
  for (let p = 0; p < pairs.length; p += 3) {
    const [o, i, tap] = [pairs[p]!, pairs[p + 1]!, pairs[p + 2]!];
    for (let ci = 0; ci < cin; ci++) {
      const v = x.data[i * cin + ci]!;
      for (let j = 0; j < m; j++) y.data[(o * cin + ci) * m + j] += v * kernel.data[(tap * cin + ci) * m + j]!;
    }
  }
  return y;
}

function convWindow(parts: LayerParts): Window2D {
  channelsLast(parts);
  return windowOf(parts);
}

export const Conv2D: LayerBuilder = (parts) => {
  const win = convWindow(parts);
  const kernel = required(parts, 'kernel');
  const bias = parts.weight('bias');
  const act = activation64(String(parts.config.activation ?? 'linear'), parts.name);
  return {
    forward: ([x]) => act.forward(addBias(conv2d(x!, kernel, win, parts.name), bias)),
    backward: act.backward
      ? (x, y, dy) => conv2dBackward(act.backward!(y, dy), kernel, win, x.shape as [number, number, number])
      : undefined,
  };
};

/** tfjs 4.22's DepthwiseConv2D layer passes no dilation to its kernel, so a dilated one has no TF-equal reference. */
function undilated(parts: LayerParts, win: Window2D): Window2D {
  if (parts.className === 'DepthwiseConv2D' && (win.dilation[0] !== 1 || win.dilation[1] !== 1)) {
    throw new Error(`float64 reference: layer ${parts.name}: tfjs 4.22's DepthwiseConv2D ignores dilationRate, so it cannot match TF`);
  }
  return win;
}

export const DepthwiseConv2D: LayerBuilder = (parts) => {
  const win = undilated(parts, convWindow(parts));
  const kernel = required(parts, 'depthwise_kernel');
  const bias = parts.weight('bias');
  const act = activation64(String(parts.config.activation ?? 'linear'), parts.name);
  return { forward: ([x]) => act.forward(addBias(depthwiseConv2d(x!, kernel, win, parts.name), bias)) };
};

/** Depthwise (strides, padding, dilation) then a 1×1 pointwise convolution, bias, activation. */
export const SeparableConv2D: LayerBuilder = (parts) => {
  const win = convWindow(parts);
  const depthwise = required(parts, 'depthwise_kernel');
  const pointwise = required(parts, 'pointwise_kernel');
  const bias = parts.weight('bias');
  const act = activation64(String(parts.config.activation ?? 'linear'), parts.name);
  const pointwiseWindow: Window2D = { kernel: [1, 1], strides: [1, 1], dilation: [1, 1], padding: 'valid' };
  return {
    forward: ([x]) => act.forward(addBias(conv2d(depthwiseConv2d(x!, depthwise, win, parts.name), pointwise, pointwiseWindow, parts.name), bias)),
  };
};

/** A float64 tensor of one image (no batch dimension), row-major: [h, w, c] or [n] or any rank. */
export interface T64 {
  shape: number[];
  data: Float64Array;
}

export const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function zeros(shape: number[]): T64 {
  return { shape, data: new Float64Array(sizeOf(shape)) };
}

export function map64(x: T64, f: (v: number, i: number) => number): T64 {
  return { shape: x.shape, data: x.data.map(f) };
}

/** [h, w, c] of a rank-3 tensor, or an error naming the layer. */
export function hwc(x: T64, layer: string): [number, number, number] {
  if (x.shape.length !== 3) throw new Error(`float64 reference: ${layer} expects an [h, w, c] input, got [${x.shape.join(', ')}]`);
  return x.shape as [number, number, number];
}

/**
 * Output size and leading padding of a window along one axis, as TensorFlow computes them:
 * 'valid': out = ceil((in − k_eff + 1)/s), no padding; 'same': out = ceil(in/s) and the total
 * padding max((out − 1)·s + k_eff − in, 0) is split with floor(total/2) before, the rest after.
 */
export function windowAxis(inSize: number, kernel: number, stride: number, dilation: number, padding: string): { out: number; padBefore: number } {
  const effective = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.ceil((inSize - effective + 1) / stride), padBefore: 0 };
  if (padding === 'same') {
    const out = Math.ceil(inSize / stride);
    return { out, padBefore: Math.floor(Math.max((out - 1) * stride + effective - inSize, 0) / 2) };
  }
  throw new Error(`float64 reference: padding "${padding}" is not supported`);
}

export interface Window2D {
  kernel: [number, number];
  strides: [number, number];
  dilation: [number, number];
  padding: string;
}

/** Geometry of a 2-D window over an [h, w, ·] input. */
export function window2D(h: number, w: number, win: Window2D) {
  const rows = windowAxis(h, win.kernel[0], win.strides[0], win.dilation[0], win.padding);
  const cols = windowAxis(w, win.kernel[1], win.strides[1], win.dilation[1], win.padding);
  return { outH: rows.out, outW: cols.out, padTop: rows.padBefore, padLeft: cols.padBefore };
}

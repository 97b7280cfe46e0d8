/**
 * Pooling in float64 with TF semantics: windows reaching into 'same' padding use only their valid
 * positions (max ignores the padding; average divides by the number of valid positions).
 * MaxPooling2D also has a VJP: the gradient goes to the first maximum in scan order, as in tfjs.
 */
import { channelsLast, windowOf, type LayerBuilder } from '../layer64.ts';
import { hwc, window2D, zeros, type T64, type Window2D } from '../tensor64.ts';

/** For each output pixel, the flat offsets (channel 0) of the valid input pixels of its window, in scan order. */
function windows(shape: [number, number, number], win: Window2D): { outH: number; outW: number; cells: number[][] } {
  const [h, w, c] = shape;
  const { outH, outW, padTop, padLeft } = window2D(h, w, win);
  const cells: number[][] = [];
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const cell: number[] = [];
      for (let ky = 0; ky < win.kernel[0]; ky++) {
        const iy = oy * win.strides[0] - padTop + ky;
        for (let kx = 0; kx < win.kernel[1]; kx++) {
          const ix = ox * win.strides[1] - padLeft + kx;
          if (iy >= 0 && iy < h && ix >= 0 && ix < w) cell.push((iy * w + ix) * c);
        }
      }
      cells.push(cell);
    }
  }
  return { outH, outW, cells };
}

/** Offset (within x) of the first maximum of each output element. */
function argmaxes(x: T64, win: Window2D, layer: string): { shape: number[]; at: Int32Array } {
  const [h, w, c] = hwc(x, layer);
  const { outH, outW, cells } = windows([h, w, c], win);
  const at = new Int32Array(outH * outW * c);
  cells.forEach((cell, o) => {
    for (let ch = 0; ch < c; ch++) {
      let best = cell[0]! + ch;
      for (const base of cell) if (x.data[base + ch]! > x.data[best]!) best = base + ch;
      at[o * c + ch] = best;
    }
  });
  return { shape: [outH, outW, c], at };
}

function averagePool(x: T64, win: Window2D, layer: string): T64 {
  const [h, w, c] = hwc(x, layer);
  const { outH, outW, cells } = windows([h, w, c], win);
  const y = zeros([outH, outW, c]);
  cells.forEach((cell, o) => {
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (const base of cell) sum += x.data[base + ch]!;
      y.data[o * c + ch] = sum / cell.length;
    }
  });
  return y;
}

function unitDilation(win: Window2D): Window2D {
  return { ...win, dilation: [1, 1] };
}

export const MaxPooling2D: LayerBuilder = (parts) => {
  channelsLast(parts);
  const win = unitDilation(windowOf(parts));
  return {
    forward: ([x]) => {
      const { shape, at } = argmaxes(x!, win, parts.name);
      return { shape, data: Float64Array.from(at, (i) => x!.data[i]!) };
    },
    backward: (x, _y, dy) => {
      const { at } = argmaxes(x, win, parts.name);
      const dx = zeros(x.shape);
      at.forEach((i, o) => (dx.data[i]! += dy.data[o]!));
      return dx;
    },
  };
};

export const AveragePooling2D: LayerBuilder = (parts) => {
  channelsLast(parts);
  const win = unitDilation(windowOf(parts));
  return { forward: ([x]) => averagePool(x!, win, parts.name) };
};

/** Reduces [h, w, c] to [c]. */
function globalPool(reduce: (values: number[]) => number): LayerBuilder {
  return (parts) => {
    channelsLast(parts);
    if (parts.config.keepDims) throw new Error(`float64 reference: layer ${parts.name}: keepDims is not supported`);
    return {
      forward: ([x]) => {
        const [h, w, c] = hwc(x!, parts.name);
        const y = zeros([c]);
        for (let ch = 0; ch < c; ch++) y.data[ch] = reduce(Array.from({ length: h * w }, (_, p) => x!.data[p * c + ch]!));
        return y;
      },
    };
  };
}

export const GlobalAveragePooling2D = globalPool((v) => v.reduce((a, b) => a + b, 0) / v.length);
export const GlobalMaxPooling2D = globalPool((v) => Math.max(...v));

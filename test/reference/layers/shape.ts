/** Layers that only move values: Flatten (with its VJP), Reshape, ZeroPadding2D. */
import { channelsLast, reshaped, type LayerBuilder } from '../layer64.ts';
import { hwc, sizeOf, zeros } from '../tensor64.ts';

/** Row-major over (h, w, c): the data as it is. */
export const Flatten: LayerBuilder = (parts) => {
  channelsLast(parts);
  return { forward: ([x]) => reshaped(x!, [x!.data.length]), backward: (x, _y, dy) => reshaped(dy, x.shape) };
};

export const Reshape: LayerBuilder = (parts) => {
  const target = (parts.config.targetShape as (number | null)[]).map((d) => (d == null ? -1 : d));
  return {
    forward: ([x]) => {
      const known = sizeOf(target.filter((d) => d !== -1));
      return reshaped(x!, target.map((d) => (d === -1 ? x!.data.length / known : d)));
    },
  };
};

/** padding [[top, bottom], [left, right]] of zeros. */
export const ZeroPadding2D: LayerBuilder = (parts) => {
  channelsLast(parts);
  const [[top, bottom], [left, right]] = parts.config.padding as [[number, number], [number, number]];
  return {
    forward: ([x]) => {
      const [h, w, c] = hwc(x!, parts.name);
      const W = w + left + right;
      const y = zeros([h + top + bottom, W, c]);
      for (let r = 0; r < h; r++) y.data.set(x!.data.subarray(r * w * c, (r + 1) * w * c), ((r + top) * W + left) * c);
      return y;
    },
  };
};

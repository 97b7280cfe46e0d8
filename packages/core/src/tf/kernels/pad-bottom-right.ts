/**
 * GradsignPadBottomRight: x [n, h, w, c] zero-padded at the bottom and right to [n, H, W, c] in one
 * copy (wasm's PadV2 is a generic loop several times slower). Restores a gradient cropped to the
 * rows and columns a 2×2 max-pool reaches.
 */
import * as tf from '@tensorflow/tfjs';
import { memoryKernel } from './memory-kernel.ts';
import { addKernel } from './registry.ts';

const PAD_BOTTOM_RIGHT = 'GradsignPadBottomRight';

const padBottomRight = memoryKernel(
  ['x'],
  ([x], attrs) => [x!.shape[0]!, attrs.height as number, attrs.width as number, x!.shape[3]!],
  ([x], out, [xInfo], attrs) => {
    const [n, h, w, c] = xInfo!.shape as [number, number, number, number];
    const H = attrs.height as number;
    const W = attrs.width as number;
    const X = x!.i32;
    const O = out.i32;
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < h; r++) {
        const o = (b * H + r) * W * c;
        O.set(X.subarray((b * h + r) * w * c, (b * h + r + 1) * w * c), o);
        O.fill(0, o + w * c, o + W * c);
      }
      O.fill(0, (b * H + h) * W * c, (b + 1) * H * W * c);
    }
  },
);

/** x [n, h, w, c] zero-padded at the bottom and right to [n, height, width, c]. */
export function padBottomRight4D(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  if (x.shape[1] === height && x.shape[2] === width) return x;
  addKernel(PAD_BOTTOM_RIGHT, padBottomRight);
  return tf.engine().runKernel(PAD_BOTTOM_RIGHT, { x }, { height, width }) as tf.Tensor4D;
}

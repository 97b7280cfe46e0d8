/**
 * GradsignCol2ImValid: the last step of a stride-1 'valid' convolution's input gradient computed as
 * a matmul, cols[n, h, w, (kh, kw, ci)] = dz[n, h, w, :] · Wᵀ: dx[n, y, x, i] = Σ cols[n, y − r,
 * x − s, (r, s, i)] over the taps in range. Gathers (each dx element sums its taps in one go, in
 * float64) rather than scatter-adds. dx is [n, height, width, ci] with height ≥ h + kh − 1, width ≥
 * w + kw − 1 (rows/columns beyond get 0: a cropped dz still yields the full-size dx).
 */
import * as tf from '@tensorflow/tfjs';
import { memoryKernel } from './memory-kernel.ts';
import { addKernel } from './registry.ts';

const COL2IM_VALID = 'GradsignCol2ImValid';

const col2imValid = memoryKernel(
  ['cols'],
  ([cols], attrs) => [cols!.shape[0]!, attrs.height as number, attrs.width as number, attrs.ci as number],
  ([cols], out, [colsInfo], attrs) => {
    const [n, h, w, k] = colsInfo!.shape as [number, number, number, number];
    const kh = attrs.kh as number;
    const kw = attrs.kw as number;
    const ci = attrs.ci as number;
    if (k !== kh * kw * ci) throw new Error(`Col2ImValid: cols has ${k} columns, expected ${kh}·${kw}·${ci}`);
    const C = cols!.f32;
    const O = out.f32;
    const H = attrs.height as number;
    const W = attrs.width as number;
    if (H < h + kh - 1 || W < w + kw - 1) throw new Error(`Col2ImValid: output ${H}×${W} is smaller than ${h + kh - 1}×${w + kw - 1}`);
    let o = 0;
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < H; y++) {
        const r0 = Math.max(0, y - h + 1);
        const r1 = Math.min(kh - 1, y);
        for (let x = 0; x < W; x++) {
          const s0 = Math.max(0, x - w + 1);
          const s1 = Math.min(kw - 1, x);
          for (let i = 0; i < ci; i++, o++) {
            let sum = 0;
            for (let r = r0; r <= r1; r++) {
              let at = ((b * h + y - r) * w + x - s0) * k + (r * kw + s0) * ci + i;
              for (let t = s0; t <= s1; t++, at += ci - k) sum += C[at]!;
            }
            O[o] = sum;
          }
        }
      }
    }
  },
);

/** dx [n, height, width, ci] of a stride-1 'valid' convolution from cols [n, h, w, kh·kw·ci]
 * (height ≥ h + kh − 1 and width ≥ w + kw − 1; the default is exactly that). */
export function col2imValid4D(cols: tf.Tensor4D, kh: number, kw: number, ci: number, height = cols.shape[1] + kh - 1, width = cols.shape[2] + kw - 1): tf.Tensor4D {
  addKernel(COL2IM_VALID, col2imValid);
  return tf.engine().runKernel(COL2IM_VALID, { cols }, { kh, kw, ci, height, width }) as tf.Tensor4D;
}

/**
 * The kernels tfjs lacks, written for the attacks' compiled backward pass, against plain
 * references: the JS kernels (cpu backend), the wasm-heap versions, and the WebAssembly SIMD
 * max-pool kernel, on awkward inputs (ties, −0, odd sizes, a cropped dy, channel counts that are
 * and are not multiples of 4).
 */
import { describe, expect, test } from 'vitest';
import { Rng } from '../../src/rng.ts';
import { initWasm, tf } from '../../src/tf/backend.ts';
import { col2imValid4D, padBottomRight4D, reluBackward, reluMaxPool2x2Backward } from '../../src/tf/kernels/index.ts';
import { reluMaxPoolSimd } from '../../src/tf/kernels/relu-max-pool-2x2-grad-simd.ts';
import type { WasmMemory } from '../../src/tf/kernels/wasm-backend.ts';

/** Switches the process to `backend` (each test file runs in its own process). */
async function useBackend(backend: 'wasm' | 'cpu'): Promise<void> {
  if (backend === 'wasm') expect(await initWasm()).toBe(true);
  else await tf.setBackend('cpu');
  await tf.ready();
  tf.enableProdMode();
}

/** ReLU outputs with many ties and zeros (values on a coarse grid), one −0. */
function reluOutput(shape: [number, number, number, number], seed: number): Float32Array {
  const rng = new Rng(seed);
  const v = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => (rng.next() < 0.3 ? 0 : Math.floor(rng.next() * 4) / 4));
  v[3] = -0;
  return v;
}

/** tfjs's rule: per window the FIRST maximum (scan order; a NaN never is one) gets dy, through the ReLU (only if > 0). */
function referencePoolGrad(y: Float32Array, [n, h, w, c]: number[], dy: Float32Array, oh: number, ow: number): Float32Array {
  const out = new Float32Array(n * 2 * oh * 2 * ow * c);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < oh; r++)
      for (let col = 0; col < ow; col++)
        for (let k = 0; k < c; k++) {
          let best = -Infinity;
          let at = -1;
          for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
            const v = y[((b * h + 2 * r + dr) * w + 2 * col + dc) * c + k]!;
            if (v > best) {
              best = v;
              at = ((b * 2 * oh + 2 * r + dr) * 2 * ow + 2 * col + dc) * c + k;
            }
          }
          if (best > 0) out[at] = dy[((b * oh + r) * ow + col) * c + k]!;
        }
  return out;
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i] || (v === 0 && b[i] === 0));
/** `same`, where a NaN must meet a NaN. */
const sameWithNaN = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (v === 0 && b[i] === 0));

/** ReLU outputs with NaN and +∞ among them: the first window is NaN in every channel, and NaN sits
 * beside positive maxima elsewhere. dy has NaNs too. */
function withNaN(shape: [number, number, number, number], seed: number): { y: Float32Array; dy: Float32Array } {
  const [n, h, w, c] = shape;
  const y = reluOutput(shape, seed);
  const rng = new Rng(seed + 100);
  for (let i = 0; i < y.length; i++) {
    const u = rng.next();
    if (u < 0.25) y[i] = NaN;
    else if (u < 0.3) y[i] = Infinity;
  }
  for (const p of [0, 1, w, w + 1]) y.fill(NaN, p * c, (p + 1) * c);
  const dy = Float32Array.from({ length: (n * h * w * c) / 4 }, (_, i) => (i % 5 === 2 ? NaN : ((i * 7919) % 101) / 50 - 1));
  return { y, dy };
}

test('the reference is tfjs\'s own MaxPoolGrad (cpu) followed by the ReLU mask, NaN included', async () => {
  await useBackend('cpu');
  const shape = [2, 6, 8, 3] as [number, number, number, number];
  const { y, dy } = withNaN(shape, 5);
  const pooled = tf.tidy(() => {
    const input = tf.tensor4d(y, shape);
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' } as unknown as tf.NamedAttrMap;
    const grad = tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor4d(dy, [2, 3, 4, 3]), input, output: tf.maxPool(input, 2, 2, 'valid') }, attrs) as tf.Tensor;
    return grad.dataSync() as Float32Array;
  });
  const masked = pooled.map((g, i) => (y[i]! > 0 ? g : 0));
  expect(sameWithNaN(masked, referencePoolGrad(y, shape, dy, 3, 4))).toBe(true);
});

test('the SIMD module assembles and instantiates over the wasm backend\'s memory', async () => {
  await useBackend('wasm');
  const memory = (tf.backend() as unknown as { wasm: { asm: { memory: WasmMemory } } }).wasm.asm.memory;
  expect(typeof reluMaxPoolSimd(memory)?.reluMaxPool2x2Grad).toBe('function');
});

describe.each(['wasm', 'cpu'] as const)('%s backend', (backend) => {
  test.each([
    ['c = 8 (SIMD on wasm), odd sizes', [2, 7, 9, 8], 3, 4],
    ['c = 6 (JS on every backend)', [2, 6, 6, 6], 3, 3],
    ['c = 4, dy cropped to the first windows', [1, 9, 9, 4], 2, 3],
  ] as const)('ReluMaxPool2x2Grad: %s', async (_name, shape, oh, ow) => {
    await useBackend(backend);
    const y = reluOutput([...shape], 1);
    const dy = Float32Array.from({ length: shape[0] * oh * ow * shape[3] }, (_, i) => ((i * 7919) % 101) / 50 - 1);
    const got = tf.tidy(() => {
      const out = reluMaxPool2x2Backward(tf.tensor4d(dy, [shape[0], oh, ow, shape[3]]), tf.tensor4d(y, [...shape]));
      expect(out.shape).toEqual([shape[0], 2 * oh, 2 * ow, shape[3]]);
      return out.dataSync() as Float32Array;
    });
    expect(same(got, referencePoolGrad(y, [...shape], dy, oh, ow))).toBe(true);
  });

  test.each([
    ['c = 8 (SIMD on wasm)', [2, 6, 8, 8]],
    ['c = 6 (JS)', [1, 4, 6, 6]],
  ] as const)('ReluMaxPool2x2Grad, %s: NaN as in tfjs\'s MaxPoolGrad (never the maximum; a NaN dy reaches it)', async (_name, shape) => {
    await useBackend(backend);
    const { y, dy } = withNaN([...shape], 3);
    const [n, h, w, c] = shape;
    const got = tf.tidy(() => reluMaxPool2x2Backward(tf.tensor4d(dy, [n, h / 2, w / 2, c]), tf.tensor4d(y, [...shape])).dataSync() as Float32Array);
    expect(sameWithNaN(got, referencePoolGrad(y, [...shape], dy, h / 2, w / 2))).toBe(true);
  });

  test('ReluGrad: dy where y > 0 (y = −0 and 0 block it)', async () => {
    await useBackend(backend);
    const y = new Float32Array([0, -0, 1e-30, 2, 0.5, -3]);
    const dy = new Float32Array([1, 2, 3, 4, -5, 6]);
    const got = tf.tidy(() => reluBackward(tf.tensor1d(dy), tf.tensor1d(y)).dataSync());
    expect(Array.from(got)).toEqual([0, 0, 3, 4, -5, 0]);
  });

  test('Col2ImValid equals the transposed convolution', async () => {
    await useBackend(backend);
    const [n, h, w, co, kh, kw, ci] = [2, 5, 4, 3, 3, 2, 2];
    const rng = new Rng(4);
    const dz = tf.tensor4d(Float32Array.from({ length: n * h * w * co }, () => rng.next() - 0.5), [n, h, w, co]);
    const filter = tf.tensor4d(Float32Array.from({ length: kh * kw * ci * co }, () => rng.next() - 0.5), [kh, kw, ci, co]);
    const [got, want] = tf.tidy(() => {
      const cols = tf.matMul(tf.reshape(dz, [n * h * w, co]), tf.transpose(tf.reshape(filter, [kh * kw * ci, co])));
      const dx = col2imValid4D(tf.reshape(cols, [n, h, w, kh * kw * ci]) as tf.Tensor4D, kh, kw, ci);
      expect(dx.shape).toEqual([n, h + kh - 1, w + kw - 1, ci]);
      // A larger output: the extra rows and columns are zero.
      const big = col2imValid4D(tf.reshape(cols, [n, h, w, kh * kw * ci]) as tf.Tensor4D, kh, kw, ci, h + kh + 1, w + kw);
      const expectedBig = tf.pad(tf.conv2dTranspose(dz, filter, [n, h + kh - 1, w + kw - 1, ci], 1, 'valid'), [[0, 0], [0, 2], [0, 1], [0, 0]]);
      const bigDiff = tf.max(tf.abs(tf.sub(big, expectedBig))).dataSync()[0]!;
      expect(bigDiff).toBeLessThan(1e-6);
      return [dx.dataSync(), tf.conv2dTranspose(dz, filter, [n, h + kh - 1, w + kw - 1, ci], 1, 'valid').dataSync()];
    });
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 6);
  });

  test('PadBottomRight pads with zeros at the bottom and right', async () => {
    await useBackend(backend);
    const got = tf.tidy(() => padBottomRight4D(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 1, 2]), 3, 2).dataSync());
    expect(Array.from(got)).toEqual([1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8, 0, 0, 0, 0, 0, 0]);
  });
});

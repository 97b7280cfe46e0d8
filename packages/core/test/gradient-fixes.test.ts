/**
 * The corrected gradients (src/tf/gradients): installed by importing @gradsign/core/tf, restored
 * by registerGradientFixes after anything re-registers the stock ones, and the AvgPool scale
 * N / count(window) itself. Their effect on gradients is pinned by layer-gradients.test.ts.
 */
import { registerGradientFixes, tf } from '@gradsign/core/tf';
import { describe, expect, it } from 'vitest';
import { avgPoolGradientScale } from '../src/tf/gradients/avg-pool.ts';

describe('registration', () => {
  /** ∂/∂x₀₀ of Σ avgPool(x, 3, 1, 'same') on 4×4: the windows of outputs (0,0), (0,1), (1,0), (1,1) hold 4, 6, 6, 9 valid pixels. */
  const cornerGradient = () => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.avgPool(x as tf.Tensor4D, 3, 1, 'same')))(tf.ones([1, 4, 4, 1])).dataSync()[0]!);

  it('importing @gradsign/core/tf installs the corrected AvgPool gradient (stock: 4/9 at the corner)', () => {
    expect(cornerGradient()).toBeCloseTo(1 / 4 + 1 / 6 + 1 / 6 + 1 / 9, 6);
  });

  it('registerGradientFixes restores it after another gradient is registered for AvgPool (e.g. by a second tfjs-core)', () => {
    const ours = tf.getGradient('AvgPool');
    tf.registerGradient({ ...ours, gradFunc: () => ({ x: () => tf.scalar(0) }) });
    registerGradientFixes();
    expect(tf.getGradient('AvgPool')).toBe(ours);
    expect(cornerGradient()).toBeCloseTo(1 / 4 + 1 / 6 + 1 / 6 + 1 / 9, 6);
  });
});

describe('avgPoolGradientScale: N / valid positions of each window', () => {
  it("is 9/4 in the corners, 9/6 on the edges and 1 inside for 3×3 'same' on 4×4", () => {
    const scale = avgPoolGradientScale([1, 4, 4, 2], [1, 4, 4, 2], { filterSize: 3, strides: 1, pad: 'same' });
    const [c, e] = [9 / 4, 9 / 6];
    expect(Array.from(scale!)).toEqual([c, e, e, c, e, 1, 1, e, e, 1, 1, e, c, e, e, c].map(Math.fround));
  });

  it("follows TF's asymmetric padding (2×2 stride 2 'same' on 5×5: padding after only)", () => {
    const scale = avgPoolGradientScale([1, 5, 5, 1], [1, 3, 3, 1], { filterSize: 2, strides: 2, pad: 'same' });
    expect(Array.from(scale!)).toEqual([1, 1, 2, 1, 1, 2, 2, 2, 4]);
  });

  it("is undefined (stock gradient unchanged) when no window reaches padding: 'valid', or 'same' that needs none", () => {
    expect(avgPoolGradientScale([1, 7, 7, 1], [1, 3, 3, 1], { filterSize: 2, strides: 2, pad: 'valid' })).toBeUndefined();
    expect(avgPoolGradientScale([1, 6, 6, 1], [1, 3, 3, 1], { filterSize: 2, strides: 2, pad: 'same' })).toBeUndefined();
  });
});

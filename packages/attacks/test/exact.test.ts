/**
 * A linear softmax model with known weights, where the sign of the input gradient is known in
 * closed form: FGSM and BIM must give EXACTLY the float32 images the rules define.
 *
 * Two classes, logits z = Wᵀx + b. For the loss −log p_y, ∇x = p_o·(W[:,o] − W[:,y]) (o the other
 * class, p_o > 0), so sign(∇x)ᵢ = sign(W[i,o] − W[i,y]) whatever x is. The model does not use
 * pixel 2 (zero weights): its gradient is exactly 0, and sign(0) = 0 leaves it unchanged.
 */
import { tf } from '@gradsign/core/tf';
import { describe, expect, test, beforeAll } from 'vitest';
import { attackBatch, attackModelFromLayers, resolveAttack, type AttackModel, type GradientOption } from '../src/index.ts';
import { unitSpec, useBackend, type TestBackend } from './helpers.ts';

const W = [
  [1, -1],
  [-0.5, 0.5],
  [0, 0],
  [2, -1],
  [-1, 1],
  [0.5, -0.25],
];
const B = [0.1, -0.1];
// Image 0 (label 0) moves by −, +, 0, −, +, −; image 1 (label 1) the opposite way.
const PIXELS = new Float32Array([0.01, 0.95, 0.7, 0.5, 0.3, 0.2, 0.97, 0.02, 0.4, 0.6, 0.8, 1]);
const LABELS = new Int32Array([0, 1]);

function linearModel(gradient: GradientOption): AttackModel {
  const model = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [2, 3, 1] }), tf.layers.dense({ units: 2, weights: [tf.tensor2d(W), tf.tensor1d(B)] })],
  });
  return attackModelFromLayers(model, unitSpec(2, 3, 1), 2, gradient);
}

/** sign(∇x −log p_y)ᵢ for the image's gradient class y. */
const gradSign = (y: number, i: number) => Math.sign(W[i]![1 - y]! - W[i]![y]!);
const f = Math.fround;

/** The rule in float32: xₖ₊₁ = min(max(xₖ + d·α·s, max(x−ε, 0)), min(x+ε, 1)). */
function expected(classes: Int32Array, d: 1 | -1, eps: number, alpha: number, steps: number): Float32Array {
  const out = new Float32Array(PIXELS.length);
  for (let img = 0; img < 2; img++) {
    for (let i = 0; i < 6; i++) {
      const x0 = PIXELS[img * 6 + i]!;
      const lo = Math.max(f(x0 - f(eps)), 0);
      const hi = Math.min(f(x0 + f(eps)), 1);
      const step = f(d * f(alpha) * gradSign(classes[img]!, i));
      let x = x0;
      for (let k = 0; k < steps; k++) x = Math.min(Math.max(f(x + step), lo), hi);
      out[img * 6 + i] = x;
    }
  }
  return out;
}

const batch = () => ({ ids: Int32Array.from([1, 2]), labels: LABELS, top5: Int32Array.from([0, 1, 1, 0]), pixels: PIXELS });

describe.each(['cpu', 'wasm'] as TestBackend[])('%s backend', (backend) => {
  beforeAll(() => useBackend(backend));

  describe.each(['compiled', 'tf.grad'] as GradientOption[])('%s gradient', (gradient) => {
    test('FGSM untargeted: x + ε·sign(∇ L(x, y_true)), clipped to [0,1]; sign(0) = 0 leaves unused pixels unchanged', async () => {
      const model = linearModel(gradient);
      const eps = 0.1;
      const { images } = await attackBatch(model, resolveAttack({ method: 'fgsm', gradient: 'inverse', eps }, 2), batch(), 0);
      const want = expected(LABELS, 1, eps, eps, 1);
      expect(Array.from(images)).toEqual(Array.from(want));
      // Clipping (0.01 − 0.1 → 0, 0.95 + 0.1 → 1, 1 + 0.1 → 1) and unused pixels (2, 8) unchanged.
      expect([images[0], images[1], images[2], images[8], images[11]]).toEqual([0, 1, f(0.7), f(0.4), 1]);
      model.dispose();
    });

    test('FGSM targeted: x − ε·sign(∇ L(x, y_target))', async () => {
      const model = linearModel(gradient);
      const eps = 0.25;
      const { images, targets } = await attackBatch(model, resolveAttack({ method: 'fgsm', gradient: 'target:1', eps }, 2), batch(), 0);
      expect(Array.from(targets)).toEqual([1, 1]);
      const want = expected(Int32Array.from([1, 1]), -1, eps, eps, 1);
      expect(Array.from(images)).toEqual(Array.from(want));
      model.dispose();
    });

    test('BIM projects onto the ε-box of the ORIGINAL image ∩ [0,1] after every step', async () => {
      const model = linearModel(gradient);
      const attack = resolveAttack({ method: 'bim', gradient: 'inverse', eps: 0.05, alpha: 0.02, steps: 5 }, 2);
      const { images } = await attackBatch(model, attack, batch(), 0);
      expect(Array.from(images)).toEqual(Array.from(expected(LABELS, 1, 0.05, 0.02, 5)));
      // 5 steps of 0.02 would move 0.1; the box holds the change to ε.
      expect(images[3]).toBe(f(f(0.5) - f(0.05)));
      model.dispose();
    });
  });
});

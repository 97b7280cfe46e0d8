/**
 * Every layer type an imported model may use, in each padding/stride variant: the tfjs input
 * gradient of ⟨r, logits(x)⟩ (tf.grad, float32) on the cpu and wasm backends against float64
 * central differences of the same function through the float64 reference (test/reference).
 *
 * Tolerance: float32 gradients of these tiny models are accurate to ~1e-6 of their largest entry;
 * |Δ| ≤ 1e-4·max|g| leaves room for accumulation order yet catches any wrong term (a wrong
 * border divisor, a mis-placed padding row is ≥ 1e-2 of the scale). h = 1e-6 in float64: the
 * truncation error (h²) and rounding error (1e-16/h) are both far below 1e-4, and a kink lies
 * within ±h of a coordinate almost never; where one does (forward and backward differences
 * disagree) the coordinate is skipped, and skips must stay rare.
 */
import { Rng } from '@gradsign/core';
import { VERIFIED_ACTIVATIONS, VERIFIED_LAYERS, tf } from '@gradsign/core/tf';
import { beforeAll, describe, expect, test } from 'vitest';
import { LAYER_CASES, caseModel, randomImage } from '../../../test/fixtures/layer-cases.ts';
import { agreement } from '../../../test/helpers/gradient-agreement.ts';
import { TEST_BACKENDS, useBackend } from '../../../test/helpers/backends.ts';
import { differences, forward64, referenceModel } from '../../../test/reference/float64.ts';

const CLASSES = 3;
const TOLERANCE = 1e-4;

/** ∇ₓ⟨r, model(x)⟩ by tf.grad on the current backend. */
function tfjsGradient(model: tf.LayersModel, x: Float64Array, r: Float64Array): Float32Array {
  return tf.tidy(() => {
    const f = (input: tf.Tensor) => tf.sum(tf.mul(model.apply(input, { training: false }) as tf.Tensor, tf.tensor(Float32Array.from(r))));
    return tf.grad(f)(tf.tensor(Float32Array.from(x), [1, ...(model.inputs[0]!.shape.slice(1) as number[])])).dataSync() as Float32Array;
  });
}

describe.each(TEST_BACKENDS)('%s backend', (backend) => {
  beforeAll(() => useBackend(backend));

  test.each(LAYER_CASES)('$name', (c) => {
    const model = caseModel(c, CLASSES);
    const reference = referenceModel(model);
    // float32-exact inputs, so both sides see the same x.
    const x = Float64Array.from(Float32Array.from(randomImage(c.input, 21)));
    const rng = new Rng(LAYER_CASES.indexOf(c), 5);
    const r = Float64Array.from({ length: CLASSES }, () => rng.next() - 0.5);
    if (c.noTfjsGradient) {
      expect(() => tfjsGradient(model, x, r)).toThrow(c.noTfjsGradient);
      return;
    }
    const g = tfjsGradient(model, x, r);
    const coords = Array.from(x, (_, i) => i);
    const fd = differences((z) => forward64(reference, z).reduce((s, v, j) => s + v * r[j]!, 0), x, 1e-6, coords);
    const a = agreement(g, fd, coords, TOLERANCE);
    expect(a.scale).toBeGreaterThan(1e-3);
    expect(a.worst, `worst at input ${a.worstAt}: tfjs ${g[a.worstAt]}, float64 ${fd.central[a.worstAt]}`).toBeLessThanOrEqual(TOLERANCE);
    expect(a.kinks).toBeLessThanOrEqual(0.02 * coords.length);
    model.dispose();
  });
});

describe('the verified list (src/tf/verified-ops.ts)', () => {
  let used: { classes: Set<string>; activations: Set<string> };
  beforeAll(async () => {
    await useBackend('cpu');
    used = { classes: new Set(), activations: new Set() };
    for (const c of LAYER_CASES.filter((c) => !c.noTfjsGradient)) {
      const model = caseModel(c, CLASSES);
      for (const layer of model.layers) {
        used.classes.add(layer.getClassName());
        const activation = layer.getConfig().activation;
        if (typeof activation === 'string') used.activations.add(activation);
      }
      model.dispose();
    }
  });

  test('every verified layer class has a gradient case above', () => {
    expect(VERIFIED_LAYERS.filter((name) => !used.classes.has(name))).toEqual([]);
  });

  test('every verified activation has a gradient case above', () => {
    expect(VERIFIED_ACTIVATIONS.filter((name) => !used.activations.has(name))).toEqual([]);
  });
});

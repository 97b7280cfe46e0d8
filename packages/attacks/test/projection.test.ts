/**
 * After EVERY step, every method keeps each image inside the ε-ball of its ORIGINAL image and
 * inside [0,1]: L∞ |x' − x| ≤ ε + 1e-6, L2 ‖x' − x‖₂ ≤ ε(1 + 1e-5).
 */
import { tf } from '@gradsign/core/tf';
import { beforeAll, describe, expect, test } from 'vitest';
import { attackBatch, resolveAttack, type AttackModel, type AttackSpec } from '../src/index.ts';
import { makeBatch, tinyAttackModel, useBackend } from './helpers.ts';

const N = 6;
const PIXELS = 100;

let compiled: AttackModel;
let generic: AttackModel;
beforeAll(async () => {
  await useBackend('wasm');
  compiled = tinyAttackModel('compiled');
  generic = tinyAttackModel('tf.grad');
});

const methods = ['fgsm', 'bim', 'pgd', 'mifgsm'] as const;
const cases = methods.flatMap((method) =>
  (['linf', 'l2'] as const).flatMap((norm) =>
    (['inverse', 'least-likely'] as const).map((gradient) => {
      const spec: AttackSpec =
        norm === 'linf'
          ? // α large enough that the iterative methods reach the ball's surface.
            { method, gradient, eps: 0.03, norm, ...(method === 'bim' ? { alpha: 0.02, steps: 5 } : {}) }
          : { method, gradient, eps: 0.5, norm, ...(method === 'fgsm' ? {} : { alpha: 0.3, steps: 5 }) };
      return [`${method} ${norm} ${gradient === 'inverse' ? 'untargeted' : 'targeted'}`, spec] as const;
    }),
  ),
);

describe.each([
  ['compiled', () => compiled],
  ['tf.grad', () => generic],
] as const)('%s gradient', (_name, model) => {
  test.each(cases)('%s stays in the ε-ball ∩ [0,1] after every step', async (_label, spec) => {
    const attack = resolveAttack(spec, 5);
    const batch = makeBatch(N, PIXELS, 5);
    let steps = 0;
    let maxDistance = 0;
    const check = (images: Float32Array) => {
      expect(Math.min(...images)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...images)).toBeLessThanOrEqual(1);
      for (let i = 0; i < N; i++) {
        let linf = 0;
        let l2 = 0;
        for (let j = 0; j < PIXELS; j++) {
          const d = images[i * PIXELS + j]! - batch.pixels[i * PIXELS + j]!;
          linf = Math.max(linf, Math.abs(d));
          l2 += d * d;
        }
        const distance = spec.norm === 'l2' ? Math.sqrt(l2) : linf;
        const bound = spec.norm === 'l2' ? spec.eps * (1 + 1e-5) : spec.eps + 1e-6;
        expect(distance).toBeLessThanOrEqual(bound);
        maxDistance = Math.max(maxDistance, distance);
      }
    };
    const { images } = await attackBatch(model(), attack, batch, 7, {
      onStep: (step, x) => {
        expect(step).toBe(++steps);
        check(x.dataSync() as Float32Array);
      },
    });
    expect(steps).toBe(attack.steps);
    check(images);
    // The constraint is active, not trivially met: some image moved at least half of ε.
    expect(maxDistance).toBeGreaterThan(spec.eps / 2);
  });
});

test('no tensor leaks across batches, for every method and both gradient paths', async () => {
  const batch = makeBatch(4, PIXELS, 5);
  const specs: AttackSpec[] = [
    ...methods.map((method) => ({ method, gradient: 'least-likely-argmin', eps: 0.03 }) satisfies AttackSpec),
    { method: 'pgd', gradient: 'random-target', eps: 0.5, norm: 'l2', alpha: 0.2, steps: 2 },
    { method: 'mifgsm', gradient: 'inverse', eps: 0.5, norm: 'l2', alpha: 0.2, steps: 2 },
  ];
  for (const model of [compiled, generic]) {
    for (const spec of specs) await attackBatch(model, resolveAttack(spec, 5), batch, 0); // warm-up allocations
    const before = tf.memory().numTensors;
    for (let round = 0; round < 3; round++) {
      for (const spec of specs) await attackBatch(model, resolveAttack(spec, 5), batch, round);
    }
    expect(tf.memory().numTensors).toBe(before);
  }
});

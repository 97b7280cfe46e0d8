/** Parameter rules: paper defaults, and every bad input rejected with a GradsignError before any work. */
import { GradsignError } from '@gradsign/core';
import { tf, makeClassifier } from '@gradsign/core/tf';
import { beforeAll, describe, expect, test } from 'vitest';
import { AttackStageConfig, checkClassifierOutput, kurakinSteps, resolveAttack, resolveWorkers, splitSizes, workersFor, type AttackSpec } from '../src/index.ts';
import { unitSpec, useBackend } from './helpers.ts';

beforeAll(() => useBackend('cpu'));

describe('defaults', () => {
  test('BIM steps follow Kurakin: max(1, ⌊min(255ε + 4, 1.25·255ε)⌋)', () => {
    expect(kurakinSteps(4 / 255)).toBe(5);
    expect(kurakinSteps(8 / 255)).toBe(10);
    expect(kurakinSteps(16 / 255)).toBe(20);
    expect(kurakinSteps(32 / 255)).toBe(36);
    expect(kurakinSteps(0.001)).toBe(1); // the formula alone gives 0 below ε ≈ 0.0031
    const bim = resolveAttack({ method: 'bim', gradient: 'inverse', eps: 8 / 255 }, 10);
    expect(bim.steps).toBe(10);
    expect(bim.alpha).toBe(1 / 255);
    expect(bim.targeted).toBe(false);
  });

  test('FGSM is one step of size ε', () => {
    const a = resolveAttack({ method: 'fgsm', gradient: 'least-likely', eps: 0.1 }, 10);
    expect([a.steps, a.alpha, a.targeted]).toEqual([1, 0.1, true]);
  });

  test('PGD: 10 steps, α = 2.5ε/steps (Madry et al.)', () => {
    const a = resolveAttack({ method: 'pgd', gradient: 'inverse', eps: 0.04 }, 10);
    expect(a.steps).toBe(10);
    expect(a.alpha).toBeCloseTo(0.01, 15);
    expect(resolveAttack({ method: 'pgd', gradient: 'inverse', eps: 0.04, steps: 20 }, 10).alpha).toBeCloseTo(0.005, 15);
  });

  test('MI-FGSM: 10 steps, α = ε/steps, μ = 1 (Dong et al.)', () => {
    const a = resolveAttack({ method: 'mifgsm', gradient: 'inverse', eps: 0.05 }, 10);
    expect([a.steps, a.momentum]).toEqual([10, 1]);
    expect(a.alpha).toBeCloseTo(0.005, 15);
  });

  test('explicit parameters win; ids read like bim-least-likely-eps8-255, as the plan spells them', () => {
    const a = resolveAttack({ method: 'bim', gradient: 'least-likely', eps: 8 / 255, steps: 3, alpha: 0.01 }, 10);
    expect([a.steps, a.alpha, a.id]).toEqual([3, 0.01, 'bim-least-likely-eps8-255-steps3-alpha0.01']);
    expect(resolveAttack({ method: 'bim', gradient: 'least-likely', eps: 8 / 255 }, 10).id).toBe('bim-least-likely-eps8-255');
    expect(resolveAttack({ method: 'fgsm', gradient: 'target:3', eps: 0.1 }, 10).id).toBe('fgsm-target3-eps0.1');
  });

  test('L2 ε may exceed 1', () => {
    expect(resolveAttack({ method: 'bim', gradient: 'inverse', eps: 3, norm: 'l2', alpha: 0.5, steps: 4 }, 10).eps).toBe(3);
    expect(resolveAttack({ method: 'fgsm', gradient: 'inverse', eps: 2, norm: 'l2' }, 10).alpha).toBe(2);
  });
});

describe('bad input fails with a GradsignError naming the problem', () => {
  const base: AttackSpec = { method: 'bim', gradient: 'inverse', eps: 8 / 255 };
  const cases: [string, Partial<AttackSpec> | Record<string, unknown>, RegExp][] = [
    ['ε = 0', { eps: 0 }, /ε must be > 0/],
    ['ε < 0', { eps: -0.1 }, /ε must be > 0/],
    ['ε NaN', { eps: Number.NaN }, /ε must be > 0/],
    ['L∞ ε > 1', { eps: 1.5 }, /at most 1/],
    ['α = 0', { alpha: 0 }, /α must be > 0/],
    ['α < 0', { alpha: -1 / 255 }, /α must be > 0/],
    ['steps = 0', { steps: 0 }, /steps must be a whole number/],
    ['steps fractional', { steps: 2.5 }, /steps must be a whole number/],
    ['momentum < 0', { method: 'mifgsm', momentum: -1 }, /momentum/],
    ['L2 without α', { norm: 'l2', eps: 1, steps: 5 }, /needs explicit alpha and steps/],
    ['L2 without steps', { norm: 'l2', eps: 1, alpha: 0.1 }, /needs explicit alpha and steps/],
    ['unknown method', { method: 'deepfool' }, /unknown attack method "deepfool"/],
    ['method named like an Object property', { method: 'toString' }, /unknown attack method/],
    ['unknown norm', { norm: 'l1' }, /unknown norm/],
    ['unknown target', { gradient: 'most-likely' }, /unknown gradient "most-likely"/],
    ['target class out of range', { gradient: 'target:10' }, /target class 10 is out of range.*10 classes/],
  ];
  test.each(cases)('%s', (_name, change, message) => {
    const spec = { ...base, ...change } as AttackSpec;
    expect(() => resolveAttack(spec, 10)).toThrow(GradsignError);
    expect(() => resolveAttack(spec, 10)).toThrow(message);
  });

  test('a model whose output is not [batch, classes] is rejected', () => {
    const spec = unitSpec(4, 4, 1);
    const ok = makeClassifier((x) => tf.reshape(x, [x.shape[0], 16]), spec, 16);
    expect(() => checkClassifierOutput(ok)).not.toThrow();
    // Outputs a 4D map instead of class scores.
    const conv = makeClassifier((x) => tf.tile(x, [1, 1, 1, 3]), spec, 3);
    expect(() => checkClassifierOutput(conv)).toThrow(GradsignError);
    // Fewer outputs than the label list says.
    const few = makeClassifier((x) => tf.reshape(x, [x.shape[0], 16]), spec, 20);
    expect(() => checkClassifierOutput(few)).toThrow(GradsignError);
    // Fails on the input size.
    const wrong = makeClassifier((x) => tf.reshape(x, [x.shape[0], 15]), spec, 15);
    expect(() => checkClassifierOutput(wrong)).toThrow(/the model failed on a \[2, 4, 4, 1\] input/);
  });

  test('stage config: workers must be "auto" or ≥ 1', () => {
    const attack = { id: 'x', method: 'fgsm', gradient: 'inverse', eps: 0.1, norm: 'linf' };
    expect(AttackStageConfig.parse({ attack }).workers).toBe('auto');
    expect(AttackStageConfig.parse({ attack, workers: 2 }).workers).toBe(2);
    expect(() => AttackStageConfig.parse({ attack, workers: 0 })).toThrow();
    expect(() => resolveWorkers(0, 'wasm')).toThrow(GradsignError);
    expect(resolveWorkers('auto', 'tensorflow')).toBe(1);
    expect(resolveWorkers(3, 'wasm')).toBe(3);
    expect(resolveWorkers(3, 'webgpu')).toBe(1); // one GPU device per process
    expect(resolveWorkers('auto', 'webgpu')).toBe(1);
  });

  test('GRADSIGN_WORKERS overrides the config; "auto" stays in-process for small jobs', () => {
    const saved = process.env.GRADSIGN_WORKERS;
    try {
      delete process.env.GRADSIGN_WORKERS;
      expect(workersFor('auto', 1000)).toBe(1);
      expect(workersFor('auto', 1e9)).toBe('auto');
      expect(workersFor(3, 10)).toBe(3);
      process.env.GRADSIGN_WORKERS = '2';
      expect(workersFor('auto', 10)).toBe(2);
      process.env.GRADSIGN_WORKERS = 'auto';
      expect(workersFor(4, 1e9)).toBe('auto');
      process.env.GRADSIGN_WORKERS = 'many';
      expect(() => workersFor('auto', 10)).toThrow(GradsignError);
    } finally {
      if (saved === undefined) delete process.env.GRADSIGN_WORKERS;
      else process.env.GRADSIGN_WORKERS = saved;
    }
  });

  test('batches split into contiguous near-equal parts', () => {
    expect(splitSizes(12, 2)).toEqual([6, 6]);
    expect(splitSizes(5, 2)).toEqual([3, 2]);
    expect(splitSizes(1, 4)).toEqual([1]);
    expect(splitSizes(7, 3)).toEqual([3, 2, 2]);
  });
});

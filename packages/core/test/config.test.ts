import { describe, expect, it } from 'vitest';
import { GradsignError, PipelineConfig, expandAttacks, parsePipelineText, planPipeline, type StageTask } from '../src/index.ts';

const valid = {
  dataset: { kind: 'fashion-mnist' },
  model: { kind: 'train' },
  attacks: [{ methods: ['fgsm', 'bim'], gradients: ['inverse', 'least-likely'], eps: ['8/255', 0.1] }],
};

describe('pipeline config', () => {
  it('fills defaults and reads "k/255" fractions', () => {
    const c = PipelineConfig.parse(valid);
    expect(c.seed).toBe(0);
    expect(c.buckets).toEqual({ rule: 'thresholds', thresholds: { high: 0.3, medium: 0.15 }, perBucket: 500 });
    expect(c.attacks[0]!.eps[0]).toBeCloseTo(8 / 255, 12);
  });

  it('names the exact path of a bad field', () => {
    const bad = { ...valid, attacks: [{ ...valid.attacks[0], eps: [0.1, -2] }] };
    expect(() => parsePipelineText(JSON.stringify(bad), 'pipelines/x.json')).toThrowError(/attacks\[0\]\.eps\[1\]/);
    const typo = { ...valid, buckets: { perBuckett: 3 } };
    expect(() => parsePipelineText(JSON.stringify(typo), 'pipelines/x.json')).toThrowError(/buckets/);
  });

  it('rejects an L∞ ε above 1 and an L2 sweep without alpha and steps', () => {
    expect(() => parsePipelineText(JSON.stringify({ ...valid, attacks: [{ ...valid.attacks[0], eps: [2] }] }), 'p')).toThrowError(/attacks\[0\]\.eps\[0\].*\(0, 1\]/);
    expect(() => parsePipelineText(JSON.stringify({ ...valid, attacks: [{ methods: ['bim'], gradients: ['inverse'], eps: [2], norm: 'l2' }] }), 'p')).toThrowError(/alpha.*steps/);
  });

  it('takes a calibration split as a count (default 1,000) or a fraction, and passes it to bucketing', () => {
    expect(PipelineConfig.parse(valid).calibration).toEqual({ count: 1000 });
    expect(PipelineConfig.parse({ ...valid, calibration: { fraction: 0.02 } }).calibration).toEqual({ fraction: 0.02 });
    expect(() => parsePipelineText(JSON.stringify({ ...valid, calibration: { fraction: 2 } }), 'p')).toThrowError(/calibration/);
    expect(() => parsePipelineText(JSON.stringify({ ...valid, calibration: { count: 5, fraction: 0.1 } }), 'p')).toThrowError(/calibration/);
    const bucketing = planPipeline('x', PipelineConfig.parse({ ...valid, calibration: { count: 50 } })).find((t) => t.stage === 'bucketing')!;
    expect(JSON.parse(bucketing.args[1]!).calibration).toEqual({ count: 50 });
  });

  it('reports JSON syntax errors as such', () => {
    const error = (() => {
      try {
        parsePipelineText('{"seed": 1,,}', 'pipelines/broken.json');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(GradsignError);
    expect((error as Error).message).toMatch(/pipelines\/broken\.json is not valid JSON/);
  });

  it('expands sweeps into uniquely named combinations', () => {
    const combos = expandAttacks(PipelineConfig.parse(valid).attacks);
    expect(combos.map((c) => c.id)).toEqual([
      'fgsm-inverse-eps8-255', 'fgsm-inverse-eps0.1', 'fgsm-least-likely-eps8-255', 'fgsm-least-likely-eps0.1',
      'bim-inverse-eps8-255', 'bim-inverse-eps0.1', 'bim-least-likely-eps8-255', 'bim-least-likely-eps0.1',
    ]);
    const twice = PipelineConfig.parse({ ...valid, attacks: [valid.attacks[0], valid.attacks[0]] });
    expect(() => expandAttacks(twice.attacks)).toThrowError(/attacks\[1\]\.eps\[0\] \(8\/255\) makes combination fgsm-inverse-eps8-255 again: attacks\[0\]\.eps\[0\] already did/);
  });

  it('plans one task per stage and per combination, each depending on what it reads', () => {
    const tasks = planPipeline('x', PipelineConfig.parse(valid));
    expect(tasks.map((t) => t.stage).filter((s) => s === 'attacks')).toHaveLength(8);
    const evaluate = tasks.find((t) => t.key === 'evaluate/bim-inverse-eps0.1')!;
    expect(evaluate.dependsOn).toEqual(['model', 'bucketing', 'attacks/bim-inverse-eps0.1']);
    expect(tasks.find((t) => t.key === 'report')!.dependsOn).toHaveLength(3 + 8 + 8);
    // The preprocess task's options do not mention the model: retraining must not re-preprocess.
    expect(tasks.find((t) => t.key === 'preprocess')!.args.join(' ')).not.toContain('epochs');
  });

  it('batchSize: a number or "auto"; by default 128 for the embedded model and "auto" for your own', () => {
    const batchOf = (config: unknown, key: string) => {
      const args = planPipeline('x', PipelineConfig.parse(config)).find((t) => t.key === key)!.args;
      return JSON.parse(args[args.indexOf('--config') + 1]!).batchSize;
    };
    expect(batchOf(valid, 'attacks/bim-inverse-eps0.1')).toBe(128);
    expect(batchOf({ ...valid, batchSize: 'auto' }, 'bucketing')).toBe('auto');
    expect(batchOf({ ...valid, batchSize: 32 }, 'evaluate/bim-inverse-eps0.1')).toBe(32);
    const own = {
      dataset: { kind: 'image-folder', dir: 'data/x' },
      model: { kind: 'tfjs', path: 'data/m', labels: 'data/labels.txt', spec: { height: 75, width: 75, channels: 3 } },
      attacks: valid.attacks,
    };
    expect(batchOf(own, 'attacks/fgsm-inverse-eps8-255')).toBe('auto');
    expect(() => parsePipelineText(JSON.stringify({ ...valid, batchSize: 'big' }), 'p')).toThrowError(/batchSize must be a whole number ≥ 1 or "auto", got "big"/);
    expect(() => parsePipelineText(JSON.stringify({ ...valid, batchSize: 0 }), 'p')).toThrowError(/batchSize/);
  });

  describe('ε ids are unique for distinct values, and equal values are named', () => {
    const sweep = (eps: unknown[]) => ({ methods: ['fgsm'], gradients: ['inverse'], eps });
    const ids = (...sweeps: unknown[]) => expandAttacks(PipelineConfig.parse({ ...valid, attacks: sweeps }).attacks).map((c) => c.id);

    it('spells k/255 as such and keeps every other value distinct', () => {
      expect(ids(sweep(['8/255', 0.0314]))).toEqual(['fgsm-inverse-eps8-255', 'fgsm-inverse-eps0.0314']);
      expect(ids(sweep([0.03141]), sweep([0.03144]))).toEqual(['fgsm-inverse-eps0.03141', 'fgsm-inverse-eps0.03144']);
      expect(ids({ ...sweep(['1/255']), methods: ['bim'], alpha: '1/255', steps: 3 })).toEqual(['bim-inverse-eps1-255-steps3-alpha1-255']);
    });

    it('names both entries when two are the same ε', () => {
      expect(() => ids(sweep(['8/255', 8 / 255]))).toThrowError(/attacks\[0\]\.eps\[1\] \(8\/255\) makes combination fgsm-inverse-eps8-255 again: attacks\[0\]\.eps\[0\] already did/);
    });

    it.each([
      ['"NaN"', 'NaN', /ε must be > 0: expected a finite number or a fraction such as "8\/255", got "NaN"/],
      ['1e400 (Infinity in JSON)', '__inf__', /ε must be > 0: expected a finite number .* got Infinity/],
      ['1e-320', 1e-320, /ε = 1e-320 is below 0.000001/],
    ])('rejects ε %s with a message that says what ε is', (_name, eps, message) => {
      expect(() => parsePipelineText(JSON.stringify({ ...valid, attacks: [sweep([eps])] }).replace('"__inf__"', '1e400'), 'p')).toThrowError(message);
    });
  });

  describe('backends per stage', () => {
    const backendOf = (task: StageTask) => JSON.parse(task.args[task.args.indexOf('--config') + 1]!).backend as string | undefined;
    const plan = (backend: unknown) => planPipeline('x', PipelineConfig.parse({ ...valid, backend }));
    const byStage = (backend: unknown) => Object.fromEntries(plan(backend).map((t) => [t.stage, backendOf(t)]));

    it('gives every stage that runs tfjs its own backend; the rest take "default", which defaults to auto', () => {
      expect(byStage({ default: 'wasm', attacks: 'webgpu', evaluate: 'webgpu' })).toEqual({
        preprocess: undefined, model: 'wasm', bucketing: 'wasm', attacks: 'webgpu', evaluate: 'webgpu', report: undefined,
      });
      expect(byStage({ attacks: 'webgpu' })).toMatchObject({ model: 'auto', bucketing: 'auto', attacks: 'webgpu' });
      expect(byStage('cpu')).toMatchObject({ model: 'cpu', bucketing: 'cpu', attacks: 'cpu', evaluate: 'cpu' });
    });

    it('leaves the model\'s and bucketing\'s options (their cache key) alone when only the attacks\' backend changes', () => {
      const args = (backend: unknown, key: string) => plan(backend).find((t) => t.key === key)!.args;
      for (const key of ['preprocess', 'model', 'bucketing']) expect(args({ default: 'auto', attacks: 'webgpu' }, key)).toEqual(args('auto', key));
      expect(args({ attacks: 'webgpu' }, 'attacks/fgsm-inverse-eps0.1')).not.toEqual(args('auto', 'attacks/fgsm-inverse-eps0.1'));
    });

    it.each([
      ['an unknown name', 'gpu', /at backend: unknown backend "gpu": use one of auto, tensorflow, webgpu, wasm, cpu/],
      ['an unknown name for a stage', { attacks: 'gpu' }, /at backend\.attacks: unknown backend "gpu": use one of/],
      ['a misspelt stage', { atacks: 'webgpu' }, /at backend\.atacks: not a stage that takes a backend: use default, model, bucketing, attacks, evaluate/],
      ['a stage that runs no tfjs', { report: 'webgpu' }, /at backend\.report: .*preprocess and report use none/],
      ['neither a name nor an object', 3, /at backend: expected a backend name .* or names per stage such as \{"default": "auto", "attacks": "webgpu"\}, got 3/],
    ])('names the field and what to use for %s', (_what, backend, message) => {
      expect(() => parsePipelineText(JSON.stringify({ ...valid, backend }), 'pipelines/x.json')).toThrowError(message);
    });
  });
});

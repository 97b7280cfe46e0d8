/**
 * The smoke pipeline through Nx, end to end, in a private copy of the repository: the report is
 * complete and sane, every artifact opens in an independent Arrow reader (flechette), and a rerun
 * executes nothing. Then per-stage backends: the same pipeline with its attacks and evaluations
 * moved to webgpu (here the software adapter) reuses the model and buckets from the cache, and
 * agrees with the first run (auto, which is wasm here) within one image per cell.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvaluationSummary, ReportSummary } from '@gradsign/core';
import { hashTree, makeWorkspaceCopy, removeWorkspace, runPipeline } from './helpers/workspace.ts';

let ws: string;
let first: Awaited<ReturnType<typeof runPipeline>>;
const smoke = JSON.parse(readFileSync(path.join(import.meta.dirname, '../pipelines/smoke.json'), 'utf8'));

beforeAll(async () => {
  ws = await makeWorkspaceCopy();
  first = await runPipeline(ws, 'smoke');
}, 300_000);
afterAll(async () => removeWorkspace(ws));

describe('pipeline:smoke', () => {
  it('runs every stage once: preprocess, model, bucketing, 4 attacks, 4 evaluations, report', () => {
    expect(first.executed).toHaveLength(12);
    expect(first.cached).toHaveLength(0);
  });

  it('writes a report whose cells are error rates with top-5 ≤ top-1 and the configured bucket sizes', () => {
    const summary = ReportSummary.parse(JSON.parse(readFileSync(path.join(ws, 'artifacts/smoke/report/summary.json'), 'utf8')));
    expect(summary.rows).toHaveLength(4 * 3);
    for (const row of summary.rows) {
      expect(row.top1Error).toBeGreaterThanOrEqual(0);
      expect(row.top1Error).toBeLessThanOrEqual(1);
      expect(row.top5Error).toBeGreaterThanOrEqual(0);
      expect(row.top5Error).toBeLessThanOrEqual(row.top1Error);
      expect(row.n).toBe(smoke.buckets.perBucket);
      expect(row.top1ErrorCI[0]).toBeLessThanOrEqual(row.top1Error);
      expect(row.top1ErrorCI[1]).toBeGreaterThanOrEqual(row.top1Error);
    }
    expect(new Set(summary.rows.map((r) => r.method))).toEqual(new Set(['fgsm', 'bim']));
    expect(new Set(summary.rows.map((r) => r.gradient))).toEqual(new Set(['inverse', 'least-likely']));
    expect(summary.findings.map((f) => f.id)).toEqual([1, 2, 3, 4]);
    for (const f of summary.findings) {
      // Counted after a Holm correction: never more than at raw p; power stated for the bucket size.
      expect(f).toMatchObject({ correction: 'holm', alpha: 0.05 });
      expect(f.supporting).toBeLessThanOrEqual(f.supportingRaw);
      expect(f.contradicting).toBeLessThanOrEqual(f.contradictingRaw);
      expect(f.minimumDetectableDifference!.n).toBe(smoke.buckets.perBucket);
    }
    expect(summary.setup.buckets.rule).toBe('quantile');
    // The saturation-safe loss leaves no image unmoved and no zeros the network does not explain.
    expect(summary.gradientDiagnostics).toEqual({ lossScores: 'logits', flags: [] });
    expect(summary.rows.every((r) => r.diagnostics.unperturbed === 0 && r.diagnostics.structuralZeroShare < 1)).toBe(true);
    expect((summary.paper as { errorRates: unknown[] }).errorRates).toHaveLength(4);
    const md = readFileSync(path.join(ws, 'artifacts/smoke/report/report.md'), 'utf8');
    expect(md).toContain('quantile terciles');
    expect(md).toMatch(/test accuracy \d+\.\d%/);
    expect(readFileSync(path.join(ws, 'artifacts/smoke/report/table.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 12);
  });

  it('writes Arrow files that an independent reader opens with the expected columns and rows', () => {
    const open = (rel: string) => tableFromIPC(readFileSync(path.join(ws, 'artifacts/smoke', rel)), { useProxy: false });
    const expectColumns = (t: ReturnType<typeof open>, names: string[]) => expect(t.schema.fields.map((f) => f.name)).toEqual(names);

    const test = open('preprocess/test.arrow');
    expectColumns(test, ['id', 'label', 'image']);
    expect(test.numRows).toBe(smoke.dataset.testLimit);
    expect((test.getChild('image')!.at(0) as ArrayLike<number>).length).toBe(28 * 28);
    expect(test.schema.metadata!.get('gradsign.kind')).toBe('images');

    const buckets = open('bucketing/buckets.arrow');
    expectColumns(buckets, ['id', 'label', 'bucket', 'confidence', 'top5', 'top5Prob', 'structuralZeros', 'image']);
    expect(buckets.numRows).toBe(3 * smoke.buckets.perBucket);
    expect(Array.from(buckets.getChild('bucket')!.toArray() as string[]).filter((b) => b === 'medium')).toHaveLength(smoke.buckets.perBucket);

    const clean = open('bucketing/clean-predictions.arrow');
    expectColumns(clean, ['id', 'label', 'correct', 'confidence', 'top5', 'top5Prob', 'topScores', 'logSumExp', 'calibration']);
    expect(clean.numRows).toBe(smoke.dataset.testLimit);
    expect(clean.schema.metadata!.get('gradsign.version')).toBe('2');

    // Full scores for the default calibration split only: 1,000 images, 10 classes each.
    const calibration = open('bucketing/calibration.arrow');
    expectColumns(calibration, ['id', 'label', 'scores']);
    expect(calibration.numRows).toBe(1000);
    expect((calibration.getChild('scores')!.at(0) as ArrayLike<number>).length).toBe(10);
    expect(Array.from(clean.getChild('calibration')!.toArray() as Iterable<boolean>).filter(Boolean)).toHaveLength(1000);

    const adv = open('attacks/bim-inverse-eps8-255/adversarial.arrow');
    expectColumns(adv, ['id', 'label', 'bucket', 'target', 'zeroGradient', 'image']);
    expect(adv.numRows).toBe(3 * smoke.buckets.perBucket);
    const pixels = adv.getChild('image')!.at(0) as Float32Array;
    expect(pixels).toBeInstanceOf(Float32Array);
    expect(Math.min(...pixels)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...pixels)).toBeLessThanOrEqual(1);

    const metrics = open('evaluate/bim-inverse-eps8-255/metrics.arrow');
    expect(metrics.numRows).toBe(3 * smoke.buckets.perBucket);
    expect(metrics.schema.fields.map((f) => f.name)).toContain('top5Error');
    const linf = metrics.getChild('linf')!.toArray() as Float32Array;
    expect(Math.max(...linf)).toBeLessThanOrEqual(8 / 255 + 1e-6);
  });

  it('executes nothing on a rerun', async () => {
    const again = await runPipeline(ws, 'smoke');
    expect(again.executed).toEqual([]);
    expect(again.cached).toHaveLength(12);
  }, 60_000);
});

describe('pipeline:smoke with per-stage backends: attacks and evaluation on webgpu', () => {
  const COMBINATIONS = ['fgsm-inverse-eps8-255', 'fgsm-least-likely-eps8-255', 'bim-inverse-eps8-255', 'bim-least-likely-eps8-255'];
  const artifact = (rel: string) => path.join(ws, 'artifacts/smoke', rel);
  const evaluation = (id: string) => EvaluationSummary.parse(JSON.parse(readFileSync(artifact(`evaluate/${id}/summary.json`), 'utf8')));
  let baseline: Record<string, EvaluationSummary>;
  let shared: Record<string, Record<string, string>>;
  let split: Awaited<ReturnType<typeof runPipeline>>;

  beforeAll(async () => {
    // The first run's results (every stage on auto: wasm here), and what must be reused.
    baseline = Object.fromEntries(COMBINATIONS.map((id) => [id, evaluation(id)]));
    shared = Object.fromEntries(['preprocess', 'model', 'bucketing'].map((stage) => [stage, hashTree(artifact(stage))]));
    writeFileSync(path.join(ws, 'pipelines/smoke.json'), JSON.stringify({ ...smoke, backend: { default: 'auto', attacks: 'webgpu', evaluate: 'webgpu' } }));
    split = await runPipeline(ws, 'smoke');
  }, 600_000);

  it('takes the model and the buckets from the cache: their cache key did not change, nothing is retrained', () => {
    expect(split.cached).toEqual(['smoke-bucketing', 'smoke-model', 'smoke-preprocess']);
    expect(split.executed).toHaveLength(4 + 4 + 1);
    for (const [stage, files] of Object.entries(shared)) expect(hashTree(artifact(stage)), stage).toEqual(files);
  });

  it('records and logs the backend and adapter each stage ran on', () => {
    const info = JSON.parse(readFileSync(artifact('model/model-info.json'), 'utf8'));
    expect(info.backend, 'the comparison is against wasm: auto must resolve to wasm here (no GPU, no tfjs-node)').toBe('wasm');
    for (const id of COMBINATIONS) {
      expect(baseline[id]!.backends).toEqual({ attacks: 'wasm', evaluate: 'wasm' });
      expect(evaluation(id).backends).toEqual({ attacks: expect.stringMatching(/^webgpu \(.+\)$/), evaluate: expect.stringMatching(/^webgpu \(.+\)$/) });
      const adv = tableFromIPC(readFileSync(artifact(`attacks/${id}/adversarial.arrow`)), { useProxy: false });
      expect(JSON.parse(adv.schema.metadata!.get('gradsign.metadata')!).backend).toBe(evaluation(id).backends.attacks);
    }
    expect(split.output).toMatch(/backend: webgpu, adapter \S.* \(requested webgpu\)/);
    const report = ReportSummary.parse(JSON.parse(readFileSync(artifact('report/summary.json'), 'utf8')));
    expect(report.setup.backend).toMatch(/^model wasm; attacks webgpu \(.+\); evaluate webgpu \(.+\)$/);
  });

  it('agrees with the all-wasm run on the same model and images within one image per cell', () => {
    const cells: string[] = [];
    for (const id of COMBINATIONS) {
      for (const webgpu of evaluation(id).buckets) {
        const wasm = baseline[id]!.buckets.find((b) => b.bucket === webgpu.bucket)!;
        expect(webgpu.n).toBe(wasm.n);
        cells.push(`${id} ${webgpu.bucket}: top-1 ${webgpu.top1Errors}/${webgpu.n} (wasm ${wasm.top1Errors}), top-5 ${webgpu.top5Errors} (wasm ${wasm.top5Errors})`);
        expect(Math.abs(webgpu.top1Errors - wasm.top1Errors), `${id} ${webgpu.bucket} top-1`).toBeLessThanOrEqual(1);
        expect(Math.abs(webgpu.top5Errors - wasm.top5Errors), `${id} ${webgpu.bucket} top-5`).toBeLessThanOrEqual(1);
      }
    }
    console.log(`webgpu vs wasm, errors per cell:\n  ${cells.join('\n  ')}`);
  });
});

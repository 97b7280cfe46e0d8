/**
 * The paper's architecture through the whole pipeline via Nx, in a private copy of the repository:
 * the Inception V3 stand-in (Keras topology, seeded weights, test/fixtures/inception-v3.ts) at its
 * smallest input, 75×75, imported as a TensorFlow.js layers model, over a generated PNG folder
 * labelled with the model's own predictions; quantile buckets of 2 images, FGSM at two ε and
 * 2-step BIM, evaluation and report. Measured on this 2-core VM: 109 s at load 6, 203 s at load 16
 * (other jobs); most of it is each task's start (tsx, wasm, loading the 24M-parameter model) and
 * the tf.grad backward pass.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelInfo, ReportSummary, type ModelSpec } from '@gradsign/core';
import { saveLayersModel, selectBackend } from '@gradsign/core/tf';
import { buildInceptionV3 } from './fixtures/inception-v3.ts';
import { makeSelfLabelledFolder } from './fixtures/self-labelled-folder.ts';
import { makeWorkspaceCopy, removeWorkspace, runPipeline } from './helpers/workspace.ts';

const SIZE = 75;
const PER_BUCKET = 2;
/** ε of each combination; BIM moves a pixel by at most steps·α = 2/255. */
const COMBINATIONS = [
  { id: 'fgsm-inverse-eps4-255', method: 'fgsm', eps: 4 / 255, steps: 1, reach: 4 / 255 },
  { id: 'fgsm-inverse-eps8-255', method: 'fgsm', eps: 8 / 255, steps: 1, reach: 8 / 255 },
  { id: 'bim-inverse-eps8-255-steps2', method: 'bim', eps: 8 / 255, steps: 2, reach: 2 / 255 },
];
const spec: ModelSpec = { height: SIZE, width: SIZE, channels: 3, normalization: 'inception', output: 'probabilities', labelOffset: 0 };

let ws: string;
let run: Awaited<ReturnType<typeof runPipeline>>;
const artifact = (rel: string) => path.join(ws, 'artifacts/inception', rel);
const arrow = (rel: string) => tableFromIPC(readFileSync(artifact(rel)), { useProxy: false });

beforeAll(async () => {
  ws = await makeWorkspaceCopy('gradsign-inception-');
  await selectBackend('wasm', { quiet: true });
  const data = path.join(ws, 'data');
  const model = buildInceptionV3({ size: SIZE, seed: 0 });
  // 3 × PER_BUCKET images are needed; a few more leave the quantile cut-offs room.
  const folder = await makeSelfLabelledFolder(data, model, spec, 9);
  await saveLayersModel(model, path.join(data, 'inception_v3'));
  model.dispose();
  const rel = (p: string) => path.relative(ws, p);
  const pipeline = {
    seed: 0,
    batchSize: 8,
    dataset: { kind: 'image-folder', dir: rel(folder.dir), layout: 'flat', groundTruth: rel(folder.groundTruth), preset: 'keras' },
    model: { kind: 'tfjs', path: 'data/inception_v3', format: 'layers', spec, labels: rel(folder.labels) },
    buckets: { rule: 'quantile', perBucket: PER_BUCKET },
    attacks: [
      { methods: ['fgsm'], gradients: ['inverse'], eps: ['4/255', '8/255'] },
      { methods: ['bim'], gradients: ['inverse'], eps: ['8/255'], steps: 2 },
    ],
  };
  await writeFile(path.join(ws, 'pipelines/inception.json'), JSON.stringify(pipeline, null, 2));
  run = await runPipeline(ws, 'inception', {}, ['--output-style=static']);
}, 300_000);
afterAll(async () => removeWorkspace(ws));

describe('pipeline over the Inception V3 stand-in (75×75, 1,000 classes)', () => {
  it('runs every stage: preprocess, model, bucketing, 3 attacks, 3 evaluations, report', () => {
    expect(run.executed).toHaveLength(10);
    for (const stage of ['preprocess', 'model', 'bucketing', 'report']) expect(run.executed).toContain(`inception-${stage}`);
    expect(run.executed.filter((p) => p.startsWith('inception-attack-'))).toHaveLength(3);
    expect(run.executed.filter((p) => p.startsWith('inception-evaluate-'))).toHaveLength(3);
  });

  it('imports the model after its input-gradient checks pass', () => {
    const info = ModelInfo.parse(JSON.parse(readFileSync(artifact('model/model-info.json'), 'utf8')));
    expect(info).toMatchObject({ source: 'imported', format: 'layers', numClasses: 1000, lossScores: 'logits', input: { height: SIZE, width: SIZE, channels: 3 } });
    expect(info.training).toMatchObject({ outputs: 1000, inputGradient: 'ok' });
    expect(run.output).toMatch(/model: input gradient ok \(directional derivative/);
    // Every layer class of the stand-in is on the verified list: no warning about unverified ones.
    expect(run.output).not.toMatch(/outside gradsign's verified list/);
  });

  it('reports every cell: method × ε × bucket, error rates in [0, 1] with top-5 ≤ top-1', () => {
    const summary = ReportSummary.parse(JSON.parse(readFileSync(artifact('report/summary.json'), 'utf8')));
    expect(summary.setup).toMatchObject({ numClasses: 1000, preset: 'keras', images: 3 * PER_BUCKET, buckets: { rule: 'quantile', perBucket: PER_BUCKET } });
    expect(summary.setup.cleanAccuracy.top1).toBe(1); // labelled by the model's own predictions
    const cells = summary.rows.map((r) => `${r.method} ${r.eps.toFixed(5)} ${r.bucket} ${r.steps}`).sort();
    const expected = COMBINATIONS.flatMap((c) => ['low', 'medium', 'high'].map((b) => `${c.method} ${c.eps.toFixed(5)} ${b} ${c.steps}`));
    expect(cells).toEqual(expected.sort());
    for (const row of summary.rows) {
      expect(row.n).toBe(PER_BUCKET);
      expect(row.top1Error).toBeGreaterThanOrEqual(0);
      expect(row.top1Error).toBeLessThanOrEqual(1);
      expect(row.top5Error).toBeGreaterThanOrEqual(0);
      expect(row.top5Error).toBeLessThanOrEqual(row.top1Error);
      expect(row.diagnostics.unperturbed).toBe(0);
    }
    expect(readFileSync(artifact('report/table.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + summary.rows.length);
  });

  it('keeps every adversarial image within ε of its clean image and inside [0, 1]', () => {
    const buckets = arrow('bucketing/buckets.arrow');
    const clean = new Map<number, Uint8Array>();
    const ids = buckets.getChild('id')!.toArray() as Int32Array;
    ids.forEach((id, i) => clean.set(id, buckets.getChild('image')!.at(i) as Uint8Array));
    expect(clean.size).toBe(3 * PER_BUCKET);
    for (const { id: combination, eps, reach } of COMBINATIONS) {
      const adv = arrow(`attacks/${combination}/adversarial.arrow`);
      expect(adv.numRows).toBe(3 * PER_BUCKET);
      (adv.getChild('id')!.toArray() as Int32Array).forEach((id, i) => {
        const x = adv.getChild('image')!.at(i) as Float32Array;
        const x0 = clean.get(id)!;
        expect(x).toHaveLength(SIZE * SIZE * 3);
        let [linf, lo, hi] = [0, Infinity, -Infinity];
        for (let p = 0; p < x.length; p++) {
          [lo, hi] = [Math.min(lo, x[p]!), Math.max(hi, x[p]!)];
          linf = Math.max(linf, Math.abs(x[p]! - x0[p]! / 255));
        }
        expect(lo).toBeGreaterThanOrEqual(0);
        expect(hi).toBeLessThanOrEqual(1);
        expect(linf).toBeLessThanOrEqual(eps + 1e-6);
        // Some pixel moved as far as the attack reaches: the gradient was not zero.
        expect(linf).toBeGreaterThanOrEqual(reach - 1e-6);
      });
    }
  });
});

/**
 * `npm run bench -- float64 [--artifacts artifacts/full] [--bim none|low|medium|high|all] [--bim-images N] [--json]`
 *
 * A pipeline's attacks against an independent float64 computation of the same attacks, with the
 * same weights and images (test/reference/float64.ts; a layers model of the default CNN's layer
 * types). For every sampled image, at the clean image:
 *
 *  - the share of pixels where the attack engine's gradient (AttackModel.lossGradient, the path
 *    the attacks stage uses on this backend) has the float64 sign (pixels where the float64 gradient
 *    is not negligible: |g| > 1e-6·max|g|), its zero pixels, and images whose gradient is all zero,
 *    per bucket and for the saturated images (1 − p < 1e-6). The file needs only the attacks
 *    package's public API, so it also runs against an older gradsign checkout, for a before/after;
 *  - for every FGSM combination in the pipeline (and BIM ones in the buckets --bim names, on the
 *    first --bim-images images of each: float64 BIM in JavaScript takes ~30 ms per image and step),
 *    the top-1/top-5 error float64 gives, beside gradsign's own (from metrics.arrow), and how many
 *    images' outcomes differ.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { BUCKETS, BucketsArtifact, EvaluationSummary, MetricsArtifact, log, readArtifact, type BucketName, type ResolvedAttack } from '@gradsign/core';
import { initWasm, loadModelDir, readModelInfo, tf } from '@gradsign/core/tf';
import { loadAttackModel } from '@gradsign/attacks';
import { crossEntropyInputGradient, forward64, logSumExp, referenceModel, type Model64 } from '../test/reference/float64.ts';
import type { BenchResult } from './index.ts';

interface Image {
  id: number;
  label: number;
  bucket: BucketName;
  leastLikely: number;
  x: Float64Array;
  /** 1 − p(label) ≤ 1e-6 in float64. */
  saturated: boolean;
}

function option(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
}

const top5 = (z: ArrayLike<number>) => Array.from(z, (v, j) => [v, j] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 5).map(([, j]) => j);

/** FGSM (steps = 1, α = ε) or BIM in float64, L∞, from the clean image. */
function attack64(model: Model64, im: Image, attack: ResolvedAttack, first: Float64Array | undefined): Float64Array {
  const target = attack.gradient === 'inverse' ? im.label : im.leastLikely;
  const direction = attack.targeted ? -1 : 1;
  let x = im.x;
  for (let s = 0; s < attack.steps; s++) {
    const g = s === 0 && first ? first : crossEntropyInputGradient(model, x, target);
    const current = x;
    x = Float64Array.from(current, (v, p) => Math.min(Math.max(v + direction * attack.alpha * Math.sign(g[p]!), im.x[p]! - attack.eps, 0), im.x[p]! + attack.eps, 1));
  }
  return x;
}

/** Sign agreement and all-zero images of float32 gradients against float64 ones, per bucket and for the saturated images. */
function compareGradients(images: Image[], g32: Float32Array, g64: Float64Array[], pixels: number) {
  type Tally = { images: number; agree: number; counted: number; allZero: number; zeroPixels: number };
  const out: Record<string, Tally> = {};
  images.forEach((im, i) => {
    for (const group of im.saturated ? [im.bucket, 'saturated'] : [im.bucket]) tally((out[group] ??= { images: 0, agree: 0, counted: 0, allZero: 0, zeroPixels: 0 }), i);
  });
  function tally(s: Tally, i: number) {
    s.images++;
    const ref = g64[i]!;
    const max = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    let nonZero = 0;
    for (let p = 0; p < pixels; p++) {
      const mine = g32[i * pixels + p]!;
      if (mine === 0) s.zeroPixels++;
      else nonZero++;
      if (Math.abs(ref[p]!) <= 1e-6 * max) continue;
      s.counted++;
      if (Math.sign(mine) === Math.sign(ref[p]!)) s.agree++;
    }
    if (nonZero === 0 && max > 0) s.allZero++;
  }
  return Object.fromEntries(
    Object.entries(out).map(([group, s]) => [group, { images: s.images, signAgreement: s.agree / s.counted, allZeroImages: s.allZero, zeroPixelShare: s.zeroPixels / (pixels * s.images) }]),
  );
}

export async function run(argv: string[]): Promise<BenchResult> {
  const root = path.resolve(option(argv, '--artifacts', 'artifacts/full'));
  const bim = option(argv, '--bim', 'none');
  const bimImages = Number(option(argv, '--bim-images', '100'));
  if (!(await initWasm())) throw new Error('wasm backend failed to initialise');
  tf.enableProdMode();
  const modelDir = path.join(root, 'model');
  const info = await readModelInfo(modelDir);
  const loaded = await loadModelDir(modelDir, info.format);
  if (loaded.kind !== 'layers') throw new Error('the float64 reference reads layers models');
  const model64 = referenceModel(loaded.model);
  const attackModel = await loadAttackModel({ kind: 'dir', dir: modelDir });

  const buckets = await readArtifact(BucketsArtifact, path.join(root, 'bucketing', 'buckets.arrow'));
  const all = await buckets.readAll();
  const pixels = buckets.listSizes.image!;
  await buckets.close();
  const images: Image[] = Array.from(all.id, (id, i) => ({
    id,
    label: all.label[i]!,
    bucket: all.bucket[i] as BucketName,
    leastLikely: all.top5[i * 5 + 4]!,
    x: Float64Array.from(all.image.subarray(i * pixels, (i + 1) * pixels), (v) => Math.fround(v / 255)),
    saturated: false,
  }));
  for (const im of images) {
    const z = forward64(model64, im.x);
    const lse = logSumExp(z);
    im.saturated = Array.from(z).reduce((s, v, j) => (j === im.label ? s : s + Math.exp(v - lse)), 0) <= 1e-6;
  }
  log(`float64: ${images.length} images, model ${info.description}`);

  // Gradients at the clean images: float64, and the attack engine's (in batches of 128, as the stage runs).
  const started = Date.now();
  const g64 = { inverse: images.map((im) => crossEntropyInputGradient(model64, im.x, im.label)), leastLikely: images.map((im) => crossEntropyInputGradient(model64, im.x, im.leastLikely)) };
  log(`float64 gradients: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const g32 = new Float32Array(images.length * pixels);
  for (let start = 0; start < images.length; start += 128) {
    const part = images.slice(start, start + 128);
    const g = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(part.flatMap((im) => Array.from(im.x))), [part.length, info.input.height, info.input.width, info.input.channels]);
      return attackModel.lossGradient(x, tf.tensor1d(Int32Array.from(part, (im) => im.label), 'int32')).dataSync() as Float32Array;
    });
    g32.set(g, start * pixels);
  }
  const gradients = { path: attackModel.gradientPath, ...compareGradients(images, g32, g64.inverse, pixels) };
  log(`inverse gradient at the clean images: ${JSON.stringify(gradients)}`);

  // Outcomes of the pipeline's FGSM (and BIM) combinations.
  const outcomes: Record<string, unknown>[] = [];
  for (const combination of (await readdir(path.join(root, 'evaluate'))).sort()) {
    const dir = path.join(root, 'evaluate', combination);
    const attack = EvaluationSummary.parse(JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8'))).attack;
    const supported = attack.norm === 'linf' && (attack.gradient === 'inverse' || attack.gradient === 'least-likely') && (attack.method === 'fgsm' || (attack.method === 'bim' && bim !== 'none'));
    if (!supported) continue;
    const metrics = await readArtifact(MetricsArtifact, path.join(dir, 'metrics.arrow'));
    const m = await metrics.readAll();
    await metrics.close();
    const theirs = new Map(Array.from(m.id, (id, i) => [id, { top1: m.top1Error[i] === 1, top5: m.top5Error[i] === 1 }]));
    const first = attack.gradient === 'inverse' ? g64.inverse : g64.leastLikely;
    for (const bucket of BUCKETS) {
      if (attack.method === 'bim' && bim !== 'all' && bucket !== bim) continue;
      const limit = attack.method === 'bim' ? bimImages : Infinity;
      const t0 = Date.now();
      let n = 0;
      let differ = 0;
      const errors = { gradsign: 0, float64: 0, gradsignTop5: 0, float64Top5: 0 };
      images.forEach((im, i) => {
        if (im.bucket !== bucket || n >= limit) return;
        const z = forward64(model64, attack64(model64, im, attack, first[i]));
        const top = top5(z);
        const ref = { top1: top[0] !== im.label, top5: !top.includes(im.label) };
        const ours = theirs.get(im.id)!;
        n++;
        errors.gradsign += +ours.top1;
        errors.float64 += +ref.top1;
        errors.gradsignTop5 += +ours.top5;
        errors.float64Top5 += +ref.top5;
        if (ours.top1 !== ref.top1 || ours.top5 !== ref.top5) differ++;
      });
      const row = { combination, bucket, n, top1: { gradsign: errors.gradsign / n, float64: errors.float64 / n }, top5: { gradsign: errors.gradsignTop5 / n, float64: errors.float64Top5 / n }, differingOutcomes: differ };
      log(`${combination} ${bucket}: top-1 ${(100 * row.top1.gradsign).toFixed(1)}% (float64 ${(100 * row.top1.float64).toFixed(1)}%), top-5 ${(100 * row.top5.gradsign).toFixed(1)}% (float64 ${(100 * row.top5.float64).toFixed(1)}%), ${differ} of ${n} outcomes differ [${((Date.now() - t0) / 1000).toFixed(0)} s]`);
      outcomes.push(row);
    }
  }
  attackModel.dispose();
  return { artifacts: root, images: images.length, gradients, outcomes };
}

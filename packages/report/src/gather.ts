/**
 * Reads everything the report needs from a pipeline's artifacts, each file once: the model and
 * bucketing summaries, every evaluation (its summary.json, and its metrics.arrow in one pass for
 * both the per-image errors and the example cards' predictions), the clean confidences, the example
 * images, and from each attack's adversarial.arrow only the example images (the rest is not copied,
 * and reading stops once every example is found). Errors name the file and the stage that makes it.
 */
import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AdversarialArtifact,
  BUCKETS,
  BucketingMetadata,
  BucketsArtifact,
  CleanPredictionsArtifact,
  EvaluationSummary,
  GradsignError,
  MetricsArtifact,
  ModelInfo,
  type BucketName,
} from '@gradsign/core';
import type { ImageErrors } from './findings.ts';
import { openArtifact, readJsonArtifact, type GatherOptions } from './read-artifact.ts';

export interface EvaluationData {
  id: string;
  summary: EvaluationSummary;
  errors: ImageErrors;
}

export interface RunArtifacts {
  model: ModelInfo;
  bucketing: BucketingMetadata;
  evaluations: EvaluationData[];
  /** Source files preprocessing could not use (image folders), from preprocess/rejects.json. */
  rejected: number | null;
  /** Images used although their decoder warned (corrupt scan data), from preprocess/warnings.json. */
  decodeWarnings: number | null;
}

/** One clean image of the example grid. */
export interface ExampleImage {
  id: number;
  label: number;
  bucket: BucketName;
  confidence: number;
  /** HWC, 8-bit. */
  pixels: Uint8Array;
}

/** One combination's attack on one example image. */
export interface ExampleAttack {
  combination: string;
  id: number;
  target: number;
  /** HWC floats in [0,1]. */
  pixels: Float32Array;
  top5: number[];
  top5Prob: number[];
  adversarialTrueProb: number;
}

export interface FigureData {
  /** Clean confidence of every correctly classified evaluated image (the bucketing population). */
  correctConfidences: Float32Array;
  /** Clean confidence of every misclassified one (for the caption's counts). */
  incorrect: number;
  examples: ExampleImage[];
  /** combination → image id → its attack. */
  attacks: Map<string, Map<number, ExampleAttack>>;
}

export interface ReportData {
  run: RunArtifacts;
  figures: FigureData;
}

export interface GatherReportOptions extends GatherOptions {
  /** How many example images of each bucket to read: the lowest image ids (a deterministic choice). Default 3. */
  examplesPerBucket?: number;
}

/** The example cards' part of a metrics row. */
type Prediction = Pick<ExampleAttack, 'top5' | 'top5Prob' | 'adversarialTrueProb'>;

/** The columns of metrics.arrow the example cards show, kept (as views, not copies) from the one pass over it. */
interface PredictionColumns {
  /** top5's list size. */
  k: number;
  batches: { id: Int32Array; top5: Int32Array; top5Prob: Float32Array; adversarialTrueProb: Float32Array }[];
}

/** How many entries a preprocess list holds (rejects.json, warnings.json); null when the dataset writes none (Fashion-MNIST). */
async function countListed(root: string, file: 'rejects.json' | 'warnings.json'): Promise<number | null> {
  try {
    const entries = JSON.parse(await readFile(path.join(root, 'preprocess', file), 'utf8')) as unknown[];
    return Array.isArray(entries) ? entries.length : null;
  } catch {
    return null;
  }
}

async function checkRoot(root: string, options: GatherOptions): Promise<void> {
  const isDir = await stat(root).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    throw new GradsignError(`no artifacts directory at ${root}`, {
      hint: `run the pipeline first (\`npx nx run pipeline:${options.pipeline ?? '<name>'}\`), or pass --artifacts artifacts/<pipeline>`,
    });
  }
}

/**
 * Reads the report's data: the summaries and per-image errors of each combination's evaluation, and
 * what the plots and the example grid need beyond them.
 */
export async function gatherReport(root: string, combinations: string[], options: GatherReportOptions = {}): Promise<ReportData> {
  await checkRoot(root, options);
  const model = await readJsonArtifact(path.join(root, 'model', 'model-info.json'), ModelInfo, 'model stage', 'model info', options);
  const bucketing = await readJsonArtifact(path.join(root, 'bucketing', 'bucketing.json'), BucketingMetadata, 'bucketing stage', 'bucketing summary', options);
  const evaluations: EvaluationData[] = [];
  const predictions = new Map<string, PredictionColumns>();
  for (const id of combinations) {
    const read = await readEvaluation(root, id, options);
    evaluations.push(read.evaluation);
    predictions.set(id, read.predictions);
  }
  const rejected = await countListed(root, 'rejects.json');
  const decodeWarnings = await countListed(root, 'warnings.json');

  const { correctConfidences, incorrect } = await readCleanConfidences(root, options);
  const examples = await readExamples(root, options.examplesPerBucket ?? 3, options);
  const wanted = new Set(examples.map((e) => e.id));
  const attacks = new Map<string, Map<number, ExampleAttack>>();
  for (const id of combinations) attacks.set(id, await readExampleAttacks(root, id, wanted, predictions.get(id)!, options));
  return { run: { model, bucketing, evaluations, rejected, decodeWarnings }, figures: { correctConfidences, incorrect, examples, attacks } };
}

/** One evaluation: its summary.json, and from one pass over its metrics.arrow the per-image errors and the prediction columns. */
async function readEvaluation(root: string, id: string, options: GatherOptions): Promise<{ evaluation: EvaluationData; predictions: PredictionColumns }> {
  const dir = path.join(root, 'evaluate', id);
  const stage = `evaluate stage for combination ${id}`;
  const summary = await readJsonArtifact(path.join(dir, 'summary.json'), EvaluationSummary, stage, `evaluation of ${id}`, options);
  const errors: ImageErrors = { low: new Map(), medium: new Map(), high: new Map() };
  const metrics = await openArtifact(MetricsArtifact, path.join(dir, 'metrics.arrow'), stage, options);
  const predictions: PredictionColumns = { k: metrics.listSizes.top5!, batches: [] };
  try {
    for await (const b of metrics.batches()) {
      b.id.forEach((imageId, i) => {
        errors[b.bucket[i] as BucketName].set(imageId, { top1: b.top1Error[i] === 1, top5: b.top5Error[i] === 1 });
      });
      predictions.batches.push({ id: b.id, top5: b.top5, top5Prob: b.top5Prob, adversarialTrueProb: b.adversarialTrueProb });
    }
  } finally {
    await metrics.close();
  }
  return { evaluation: { id, summary, errors }, predictions };
}

/** The clean confidence of every correctly classified evaluated image, and how many were misclassified. */
async function readCleanConfidences(root: string, options: GatherOptions): Promise<Pick<FigureData, 'correctConfidences' | 'incorrect'>> {
  const clean = await openArtifact(CleanPredictionsArtifact, path.join(root, 'bucketing', 'clean-predictions.arrow'), 'bucketing stage', options);
  const confidences: number[] = [];
  let incorrect = 0;
  try {
    for await (const b of clean.batches()) {
      for (let i = 0; i < b.id.length; i++) {
        if (b.correct[i] === 1) confidences.push(b.confidence[i]!);
        else incorrect++;
      }
    }
  } finally {
    await clean.close();
  }
  return { correctConfidences: Float32Array.from(confidences), incorrect };
}

/** The `perBucket` lowest image ids of each bucket with their clean images (only those images are copied). */
async function readExamples(root: string, perBucket: number, options: GatherOptions): Promise<ExampleImage[]> {
  const buckets = await openArtifact(BucketsArtifact, path.join(root, 'bucketing', 'buckets.arrow'), 'bucketing stage', options);
  const lowest: Record<BucketName, ExampleImage[]> = { low: [], medium: [], high: [] };
  try {
    const size = buckets.listSizes.image!;
    for await (const b of buckets.batches()) {
      for (let i = 0; i < b.id.length; i++) {
        const bucket = b.bucket[i] as BucketName;
        const list = lowest[bucket];
        const id = b.id[i]!;
        if (list.length >= perBucket && id >= list[list.length - 1]!.id) continue;
        list.push({ id, label: b.label[i]!, bucket, confidence: b.confidence[i]!, pixels: b.image.slice(i * size, (i + 1) * size) });
        list.sort((x, y) => x.id - y.id);
        if (list.length > perBucket) list.pop();
      }
    }
  } finally {
    await buckets.close();
  }
  return BUCKETS.flatMap((b) => lowest[b]);
}

/** One combination's attack on each wanted image: its adversarial image (copied for those only) and its predictions. */
async function readExampleAttacks(
  root: string,
  id: string,
  wanted: ReadonlySet<number>,
  predictions: PredictionColumns,
  options: GatherOptions,
): Promise<Map<number, ExampleAttack>> {
  const found = new Map<number, ExampleAttack>();
  const adv = await openArtifact(AdversarialArtifact, path.join(root, 'attacks', id, 'adversarial.arrow'), `attacks stage for combination ${id}`, options);
  try {
    const size = adv.listSizes.image!;
    for await (const b of adv.batches()) {
      for (let i = 0; i < b.id.length; i++) {
        const imageId = b.id[i]!;
        if (!wanted.has(imageId)) continue;
        found.set(imageId, {
          combination: id,
          id: imageId,
          target: b.target[i]!,
          pixels: b.image.slice(i * size, (i + 1) * size),
          top5: [],
          top5Prob: [],
          adversarialTrueProb: Number.NaN,
        });
      }
      if (found.size === wanted.size) break;
    }
  } finally {
    await adv.close();
  }
  for (const [imageId, prediction] of predictionsOf(predictions, found)) Object.assign(found.get(imageId)!, prediction);
  return found;
}

/** The predictions of the given image ids, from the kept metrics columns. */
function predictionsOf(columns: PredictionColumns, ids: ReadonlyMap<number, unknown>): Map<number, Prediction> {
  const out = new Map<number, Prediction>();
  const { k } = columns;
  for (const b of columns.batches) {
    for (let i = 0; i < b.id.length; i++) {
      if (!ids.has(b.id[i]!)) continue;
      out.set(b.id[i]!, {
        top5: Array.from(b.top5.subarray(i * k, (i + 1) * k)),
        top5Prob: Array.from(b.top5Prob.subarray(i * k, (i + 1) * k)),
        adversarialTrueProb: b.adversarialTrueProb[i]!,
      });
    }
  }
  return out;
}

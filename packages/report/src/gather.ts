/**
 * Reads everything the report needs from a pipeline's artifacts, failing clearly on what is missing:
 * every error names the file, what is wrong with it, and the stage (and command) that makes it.
 */
import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AdversarialArtifact,
  BucketingMetadata,
  BucketsArtifact,
  CleanPredictionsArtifact,
  EvaluationSummary,
  GradsignError,
  MetricsArtifact,
  ModelInfo,
  readArtifact,
  ReportSummary,
  type ArtifactKind,
  type ArtifactReader,
  type BucketName,
  type ColumnType,
} from '@gradsign/core';
import type { z, ZodType } from 'zod';
import type { ImageErrors } from './findings.ts';

export interface GatherOptions {
  /** The pipeline's name, for the command in hints (`npx nx run pipeline:<name>`). */
  pipeline?: string;
}

/** `stage`: what to run, e.g. "model stage" or "evaluate stage for combination <id>". */
function runHint(stage: string, options: GatherOptions): string {
  const command = `npx nx run pipeline:${options.pipeline ?? '<name>'}`;
  return `run the ${stage} first (\`${command}\` runs every stage that is missing or out of date)`;
}

/** Reads and validates a JSON artifact; a missing file, bad JSON, another schema version each get their own message. */
export async function readJsonArtifact<T>(file: string, schema: ZodType<T>, stage: string, what: string, options: GatherOptions = {}): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new GradsignError(`missing ${what}: ${file}`, { hint: runHint(stage, options) });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new GradsignError(`${what} ${file} is not valid JSON (${(error as Error).message}); it was probably cut short`, {
      hint: `re${runHint(stage, options)}`,
    });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const hasVersion = raw !== null && typeof raw === 'object' && 'schemaVersion' in raw;
    const expected = schemaVersionOf(schema);
    const found = hasVersion ? (raw as { schemaVersion: unknown }).schemaVersion : undefined;
    const versionProblem = expected !== undefined && found !== expected;
    const message = versionProblem
      ? `${what} ${file} has schema version ${found === undefined ? '(none)' : JSON.stringify(found)}; this gradsign reads version ${expected}`
      : `${what} ${file} does not match what this gradsign reads: ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ')}`;
    throw new GradsignError(message, {
      hint: `it was written by another gradsign version: re${runHint(stage, options)}`,
    });
  }
  return parsed.data;
}

/** The literal `schemaVersion` a zod object schema demands, if any. */
function schemaVersionOf(schema: ZodType): number | undefined {
  const shape = (schema as unknown as { shape?: Record<string, { def?: { values?: unknown[] } }> }).shape;
  const v = shape?.schemaVersion?.def?.values?.[0];
  return typeof v === 'number' ? v : undefined;
}

/** Opens an Arrow artifact; errors keep readArtifact's message, with a hint that names the stage and the command. */
export async function openArtifact<C extends Record<string, ColumnType>, M extends z.ZodType>(
  def: ArtifactKind<C, M>,
  file: string,
  stage: string,
  options: GatherOptions = {},
): Promise<ArtifactReader<C, M>> {
  try {
    return await readArtifact(def, file);
  } catch (error) {
    if (error instanceof GradsignError) throw new GradsignError(error.message, { hint: runHint(stage, options), cause: error });
    throw error;
  }
}

/** Reads a report's summary.json (for tools that read a finished report), checking its schema version. */
export async function readReportSummary(file: string, options: GatherOptions = {}): Promise<ReportSummary> {
  return readJsonArtifact(file, ReportSummary, 'report stage', 'report summary', options);
}

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
}

/** How many files preprocessing rejected; null when the dataset has no rejects (Fashion-MNIST). */
async function countRejects(root: string): Promise<number | null> {
  try {
    const rejects = JSON.parse(await readFile(path.join(root, 'preprocess', 'rejects.json'), 'utf8')) as unknown[];
    return Array.isArray(rejects) ? rejects.length : null;
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

export async function gatherArtifacts(root: string, combinations: string[], options: GatherOptions = {}): Promise<RunArtifacts> {
  await checkRoot(root, options);
  const model = await readJsonArtifact(path.join(root, 'model', 'model-info.json'), ModelInfo, 'model stage', 'model info', options);
  const bucketing = await readJsonArtifact(path.join(root, 'bucketing', 'bucketing.json'), BucketingMetadata, 'bucketing stage', 'bucketing summary', options);
  const evaluations: EvaluationData[] = [];
  for (const id of combinations) {
    const dir = path.join(root, 'evaluate', id);
    const stage = `evaluate stage for combination ${id}`;
    const summary = await readJsonArtifact(path.join(dir, 'summary.json'), EvaluationSummary, stage, `evaluation of ${id}`, options);
    const errors: ImageErrors = { low: new Map(), medium: new Map(), high: new Map() };
    const metrics = await openArtifact(MetricsArtifact, path.join(dir, 'metrics.arrow'), stage, options);
    try {
      for await (const b of metrics.batches()) {
        b.id.forEach((imageId, i) => {
          errors[b.bucket[i] as BucketName].set(imageId, { top1: b.top1Error[i] === 1, top5: b.top5Error[i] === 1 });
        });
      }
    } finally {
      await metrics.close();
    }
    evaluations.push({ id, summary, errors });
  }
  return { model, bucketing, evaluations, rejected: await countRejects(root) };
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

/**
 * What the plots and the example grid need beyond the evaluations: the clean confidences and, for
 * the first `perBucket` image ids of each bucket (a deterministic choice), the clean image and
 * every combination's adversarial image with its prediction.
 */
export async function gatherFigureData(root: string, combinations: string[], perBucket = 3, options: GatherOptions = {}): Promise<FigureData> {
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

  const buckets = await openArtifact(BucketsArtifact, path.join(root, 'bucketing', 'buckets.arrow'), 'bucketing stage', options);
  const candidates: Record<BucketName, ExampleImage[]> = { low: [], medium: [], high: [] };
  try {
    const size = buckets.listSizes.image!;
    for await (const b of buckets.batches()) {
      for (let i = 0; i < b.id.length; i++) {
        const bucket = b.bucket[i] as BucketName;
        const list = candidates[bucket];
        list.push({ id: b.id[i]!, label: b.label[i]!, bucket, confidence: b.confidence[i]!, pixels: b.image.slice(i * size, (i + 1) * size) });
        list.sort((x, y) => x.id - y.id);
        if (list.length > perBucket) list.pop();
      }
    }
  } finally {
    await buckets.close();
  }
  const examples = (['low', 'medium', 'high'] as const).flatMap((b) => candidates[b]);
  const wanted = new Set(examples.map((e) => e.id));

  const attacks = new Map<string, Map<number, ExampleAttack>>();
  for (const id of combinations) {
    const found = new Map<number, ExampleAttack>();
    const adv = await openArtifact(AdversarialArtifact, path.join(root, 'attacks', id, 'adversarial.arrow'), `attacks stage for combination ${id}`, options);
    try {
      const size = adv.listSizes.image!;
      for await (const b of adv.batches()) {
        for (let i = 0; i < b.id.length; i++) {
          if (!wanted.has(b.id[i]!)) continue;
          found.set(b.id[i]!, {
            combination: id,
            id: b.id[i]!,
            target: b.target[i]!,
            pixels: b.image.slice(i * size, (i + 1) * size),
            top5: [],
            top5Prob: [],
            adversarialTrueProb: Number.NaN,
          });
        }
      }
    } finally {
      await adv.close();
    }
    const metrics = await openArtifact(MetricsArtifact, path.join(root, 'evaluate', id, 'metrics.arrow'), `evaluate stage for combination ${id}`, options);
    try {
      const k = metrics.listSizes.top5!;
      for await (const b of metrics.batches()) {
        for (let i = 0; i < b.id.length; i++) {
          const a = found.get(b.id[i]!);
          if (!a) continue;
          a.top5 = Array.from(b.top5.subarray(i * k, (i + 1) * k));
          a.top5Prob = Array.from(b.top5Prob.subarray(i * k, (i + 1) * k));
          a.adversarialTrueProb = b.adversarialTrueProb[i]!;
        }
      }
    } finally {
      await metrics.close();
    }
    attacks.set(id, found);
  }
  return { correctConfidences: Float32Array.from(confidences), incorrect, examples, attacks };
}

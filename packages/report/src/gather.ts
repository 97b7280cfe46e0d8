/** Reads everything the report needs from a pipeline's artifacts, failing clearly on what is missing. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BucketingMetadata,
  EvaluationSummary,
  GradsignError,
  MetricsArtifact,
  ModelInfo,
  readArtifact,
  type BucketName,
} from '@gradsign/core';
import type { ZodType } from 'zod';
import type { ImageErrors } from './findings.ts';

async function readJson<T>(file: string, schema: ZodType<T>, stage: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new GradsignError(`missing ${what}: ${file}`, { hint: `run the ${stage} stage first (npx nx run pipeline:<name> runs every stage)` });
  }
  const raw = JSON.parse(text) as { schemaVersion?: unknown };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const version = raw && typeof raw === 'object' && 'schemaVersion' in raw ? ` (schema version ${String(raw.schemaVersion)})` : '';
    throw new GradsignError(`${file}${version} does not match what this gradsign reads: ${parsed.error.issues[0]?.message ?? ''}`, {
      hint: `it was written by another gradsign version: rerun the ${stage} stage`,
    });
  }
  return parsed.data;
}

export interface RunArtifacts {
  model: ModelInfo;
  bucketing: BucketingMetadata;
  evaluations: { id: string; summary: EvaluationSummary; errors: ImageErrors }[];
}

export async function gatherArtifacts(root: string, combinations: string[]): Promise<RunArtifacts> {
  const model = await readJson(path.join(root, 'model', 'model-info.json'), ModelInfo, 'model', 'model info');
  const bucketing = await readJson(path.join(root, 'bucketing', 'bucketing.json'), BucketingMetadata, 'bucketing', 'bucketing summary');
  const evaluations = [];
  for (const id of combinations) {
    const dir = path.join(root, 'evaluate', id);
    const summary = await readJson(path.join(dir, 'summary.json'), EvaluationSummary, `evaluate (combination ${id})`, `evaluation of ${id}`);
    const errors: ImageErrors = { low: new Map(), medium: new Map(), high: new Map() };
    const metrics = await readArtifact(MetricsArtifact, path.join(dir, 'metrics.arrow'));
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
  return { model, bucketing, evaluations };
}

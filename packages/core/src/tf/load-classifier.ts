import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelInfo } from '../artifacts.ts';
import { GradsignError } from '../errors.ts';
import type { Classifier } from './classifier.ts';
import { classifierFromModel } from './model-forward.ts';
import { loadModelDir } from './model-io.ts';
import type { ModelSpec } from '../config.ts';

export async function readModelInfo(dir: string): Promise<ModelInfo> {
  const file = path.join(dir, 'model-info.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new GradsignError(`missing model artifact: ${file}`, {
      hint: 'run the model stage first (e.g. `npx nx run pipeline:full` runs every stage in order)',
    });
  }
  const parsed = ModelInfo.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new GradsignError(`${file} does not match this gradsign's model-info schema`, { hint: 'rerun the model stage' });
  }
  return parsed.data;
}

export function specOf(info: ModelInfo): ModelSpec {
  return { ...info.input, normalization: info.normalization, output: info.output, labelOffset: info.labelOffset };
}

/** Loads the model stage's output directory as a Classifier over [0,1] pixels. */
export async function loadClassifier(dir: string): Promise<{ classifier: Classifier; info: ModelInfo }> {
  const info = await readModelInfo(dir);
  const loaded = await loadModelDir(dir, info.format);
  return { classifier: classifierFromModel(loaded, specOf(info), info.numClasses), info };
}

import path from 'node:path';
import { z } from 'zod';
import { Backend, ModelConfig, ModelSpec, defineStage, log, parseWith, writeDirAtomic, writeFileAtomic, type ModelInfo } from '@gradsign/core';
import { describeBackend, saveLayersModel, selectBackend } from '@gradsign/core/tf';
import { accuracy, trainSmallCnn } from './train.ts';

export const ModelStageConfig = z
  .object({ model: ModelConfig, seed: z.number().int().min(0).default(0), backend: Backend.default('auto') })
  .strict();

/** model: trains the default CNN (or imports the user's model) → `<out>/model.json`, weights, model-info.json. */
export async function buildModel(rawConfig: unknown, dataDir: string, outDir: string): Promise<ModelInfo> {
  const config = parseWith(ModelStageConfig, rawConfig, 'model config');
  const backend = await selectBackend(config.backend);
  if (config.model.kind === 'tfjs') {
    const { importModel } = await import('./import.ts');
    return importModel(config.model, dataDir, outDir, backend);
  }
  const m = config.model;
  const { model, meta, trainImages, epochLosses } = await trainSmallCnn(path.join(dataDir, 'train.arrow'), {
    epochs: m.epochs,
    batchSize: m.batchSize,
    learningRate: m.learningRate,
    seed: config.seed,
    trainLimit: m.trainLimit,
  });
  const test = await accuracy(model, path.join(dataDir, 'test.arrow'));
  log(`model: test accuracy ${(test.top1 * 100).toFixed(2)}% on ${test.n} images`);
  const info: ModelInfo = {
    schemaVersion: 1,
    source: 'trained',
    description: 'small CNN conv32-pool-conv64-pool-fc128-fc10 (logits), trained by gradsign',
    format: 'layers',
    input: { height: meta.height, width: meta.width, channels: ModelSpec.shape.channels.parse(meta.channels) },
    normalization: 'unit',
    output: 'logits',
    lossScores: 'logits',
    labelOffset: 0,
    numClasses: meta.classNames.length,
    classNames: meta.classNames,
    testAccuracy: test.top1,
    backend: describeBackend(backend),
    training: { ...m, seed: config.seed, trainImages, epochLosses, testImages: test.n },
  };
  await writeDirAtomic(outDir, async (tmp) => {
    await saveLayersModel(model, tmp);
    await writeFileAtomic(path.join(tmp, 'model-info.json'), JSON.stringify(info, null, 2) + '\n');
  });
  model.dispose();
  return info;
}

export const modelStage = defineStage({
  name: 'gradsign-model',
  summary: 'train the default CNN with a fixed seed, or import your TensorFlow.js model, into a model directory',
  config: ModelStageConfig,
  configExample: '{"model": {...}, "seed": 0, "backend": "auto"}',
  inputs: { data: 'preprocess output directory (train.arrow, test.arrow)' },
  output: 'model.json, weights, model-info.json',
  examples: [`gradsign-model --config '{"model":{"kind":"train","epochs":2}}' --data artifacts/full/preprocess --out artifacts/full/model`],
  run: (config, { data, out }) => buildModel(config, data, out),
});

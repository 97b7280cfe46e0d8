import path from 'node:path';
import { z } from 'zod';
import { DatasetConfig, GradsignError, defineStage, log, parseWith, writeDirAtomic } from '@gradsign/core';
import { checkFashionMnist, convertSplit } from './fashion-mnist.ts';

export const PreprocessStageConfig = z
  .object({
    dataset: DatasetConfig,
    /** The model's input size (image folders are resized to it). */
    input: z.object({ height: z.number().int(), width: z.number().int(), channels: z.number().int() }).optional(),
  })
  .strict();
export type PreprocessStageConfig = z.infer<typeof PreprocessStageConfig>;

/** preprocess: dataset → `<out>/train.arrow` and `<out>/test.arrow`; image folders → `<out>/index.arrow` (image-folder.ts). */
export async function preprocess(rawConfig: unknown, outDir: string): Promise<void> {
  const config = parseWith(PreprocessStageConfig, rawConfig, 'preprocess config');
  const dataset = config.dataset;
  if (dataset.kind === 'fashion-mnist') {
    await checkFashionMnist(dataset.dir);
    await writeDirAtomic(outDir, async (tmp) => {
      const train = await convertSplit(dataset.dir, 'train', path.join(tmp, 'train.arrow'), dataset.trainLimit);
      const test = await convertSplit(dataset.dir, 'test', path.join(tmp, 'test.arrow'), dataset.testLimit);
      log(`preprocess: fashion-mnist train ${train} images, test ${test} images → ${outDir}`);
    });
    return;
  }
  const { preprocessImageFolder } = await import('./image-folder.ts').catch((error: unknown) => {
    throw new GradsignError(`image folders need the sharp image library, which failed to load: ${(error as Error).message}`, {
      hint: 'reinstall the dependencies (npm ci) on this platform; sharp ships prebuilt binaries for Linux, macOS and Windows',
    });
  });
  await preprocessImageFolder(dataset, config.input, outDir);
}

export const preprocessStage = defineStage({
  name: 'gradsign-preprocess',
  summary: 'turn a dataset into Arrow files: Fashion-MNIST IDX files into images, an image folder into an index of its usable files',
  config: PreprocessStageConfig,
  configExample: '{"dataset": {...}, "input": {"height", "width", "channels"}}',
  inputs: {},
  output: 'train.arrow, test.arrow; image folders: index.arrow, sources.csv, rejects.json, warnings.json, duplicates.json',
  examples: [`gradsign-preprocess --config '{"dataset":{"kind":"fashion-mnist"}}' --out artifacts/mine/preprocess`],
  run: (config, { out }) => preprocess(config, out),
});

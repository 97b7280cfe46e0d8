/**
 * Pass 1 of bucketing: the model's clean predictions on every test image, streamed batch by batch
 * (images decoded where the split is an image folder's index) into clean-predictions.arrow, and the
 * full scores of the seeded calibration split into calibration.arrow. In memory stay only the ids
 * and confidences of the correctly classified images: what bucketing ranks and samples.
 */
import {
  CalibrationArtifact,
  CleanPredictionsArtifact,
  Progress,
  TopK,
  withArtifactWriter,
  type ArtifactWriter,
  type CalibrationConfig,
  type ImageBatch,
  type TestImages,
} from '@gradsign/core';
import { predictCleanOutputs, type Classifier, type CleanOutputs } from '@gradsign/core/tf';
import { calibrationMask } from './calibration.ts';

export interface CleanSummary {
  /** The correctly classified images in file order: ids, and top-1 probability in float64 (float32 saturates at 1.0). */
  correct: { id: Int32Array; confidence: Float64Array };
  accuracy: { n: number; top1: number; top5: number };
  calibration: number;
}

export interface CleanSinks {
  predictions: Pick<ArtifactWriter<typeof CleanPredictionsArtifact.columns>, 'write'>;
  calibration: Pick<ArtifactWriter<typeof CalibrationArtifact.columns>, 'write'>;
}

/**
 * The streaming loop: each batch of `source` is predicted and written before the next is pulled,
 * so memory holds one batch whatever the number of images. `inCalibration[i]` marks the i-th image
 * (file order) of the calibration split.
 */
export async function streamCleanPredictions(
  source: AsyncIterable<ImageBatch>,
  predict: (batch: ImageBatch) => Promise<CleanOutputs>,
  sinks: CleanSinks,
  inCalibration: Uint8Array,
  onBatch: (n: number) => void = () => undefined,
): Promise<CleanSummary> {
  const correctIds: number[] = [];
  const confidences: number[] = [];
  let n = 0;
  let top5Hits = 0;
  for await (const batch of source) {
    const size = batch.id.length;
    const { top, scores, topScores, logSumExp } = await predict(batch);
    const classes = scores.length / size;
    const correct = new Uint8Array(size);
    const calibration = inCalibration.subarray(n, n + size);
    for (let i = 0; i < size; i++) {
      const label = batch.label[i]!;
      const classes5 = top.indices.subarray(i * top.k, (i + 1) * top.k);
      correct[i] = classes5[0] === label ? 1 : 0;
      if (classes5.includes(label)) top5Hits++;
      if (correct[i]) {
        correctIds.push(batch.id[i]!);
        confidences.push(top.confidence[i]!);
      }
    }
    await sinks.predictions.write({
      id: batch.id,
      label: batch.label,
      correct,
      confidence: Float32Array.from(top.confidence),
      top5: top.indices,
      top5Prob: top.probs,
      topScores,
      logSumExp,
      calibration: Uint8Array.from(calibration),
    });
    const rows = [...calibration.keys()].filter((i) => calibration[i]);
    if (rows.length) {
      const kept = new Float32Array(rows.length * classes);
      rows.forEach((row, j) => kept.set(scores.subarray(row * classes, (row + 1) * classes), j * classes));
      await sinks.calibration.write({ id: Int32Array.from(rows, (i) => batch.id[i]!), label: Int32Array.from(rows, (i) => batch.label[i]!), scores: kept });
    }
    n += size;
    onBatch(size);
  }
  const calibration = inCalibration.reduce((a, b) => a + b, 0);
  return {
    correct: { id: Int32Array.from(correctIds), confidence: Float64Array.from(confidences) },
    accuracy: { n, top1: correctIds.length / n, top5: top5Hits / n },
    calibration,
  };
}

export interface CleanOptions {
  batchSize: number;
  calibration: CalibrationConfig;
  seed: number;
}

/** Predicts every image of the split → `predictionsFile` and `calibrationFile`. */
export async function predictClean(
  classifier: Classifier,
  images: TestImages,
  files: { predictions: string; calibration: string },
  options: CleanOptions,
): Promise<CleanSummary> {
  const count = await images.count();
  const inCalibration = calibrationMask(count, options.calibration, options.seed);
  const scores = classifier.scoresKind;
  const numClasses = classifier.numClasses;
  const calibrationMeta = { numClasses, scores, calibration: options.calibration, seed: options.seed, images: inCalibration.reduce((a, b) => a + b, 0), of: count };
  const progress = new Progress('clean predictions', count, 'img');
  const summary = await withArtifactWriter(CleanPredictionsArtifact, files.predictions, { numClasses, scores }, { top5: TopK, top5Prob: TopK, topScores: 2 }, (predictions) =>
    withArtifactWriter(CalibrationArtifact, files.calibration, calibrationMeta, { scores: numClasses }, (calibration) =>
      streamCleanPredictions(
        images.batches({ size: options.batchSize }),
        (batch) => predictCleanOutputs(classifier, batch.image, batch.id.length, TopK),
        { predictions, calibration },
        inCalibration,
        (n) => progress.tick(n),
      ),
    ),
  );
  progress.finish();
  return summary;
}

/** Pass 1 of bucketing: the model's clean top-5 on every test image, streamed to clean-predictions.arrow. */
import { CleanPredictionsArtifact, ImagesArtifact, Progress, TopK, readArtifact, withArtifactWriter } from '@gradsign/core';
import { predictTopK, type Classifier } from '@gradsign/core/tf';

export interface CleanRow {
  id: number;
  label: number;
  correct: boolean;
  /** Top-1 probability in float64 (float32 saturates at 1.0 for confident predictions). */
  confidence: number;
  top5: Int32Array;
  top5Prob: Float32Array;
}

export interface CleanPredictions {
  rows: CleanRow[];
  accuracy: { n: number; top1: number; top5: number };
  pixels: number;
}

/** Predicts every image of `testFile`; keeps what bucketing needs (not the pixels). */
export async function predictClean(classifier: Classifier, testFile: string, outFile: string, batchSize: number): Promise<CleanPredictions> {
  const images = await readArtifact(ImagesArtifact, testFile);
  const pixels = images.listSizes.image as number;
  const rows: CleanRow[] = [];
  let top5Hits = 0;
  const progress = new Progress('clean predictions', Number.NaN, 'img');
  try {
    await withArtifactWriter(CleanPredictionsArtifact, outFile, { numClasses: classifier.numClasses }, { top5: TopK, top5Prob: TopK }, async (writer) => {
      for await (const batch of images.batches()) {
        for (let start = 0; start < batch.id.length; start += batchSize) {
          const end = Math.min(batch.id.length, start + batchSize);
          const n = end - start;
          const labels = batch.label.subarray(start, end);
          const top = await predictTopK(classifier, batch.image.subarray(start * pixels, end * pixels), n, TopK);
          const correct = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            const label = labels[i] as number;
            const classes = top.indices.subarray(i * top.k, (i + 1) * top.k);
            correct[i] = classes[0] === label ? 1 : 0;
            if (classes.includes(label)) top5Hits++;
            rows.push({
              id: batch.id[start + i] as number,
              label,
              correct: correct[i] === 1,
              confidence: top.confidence[i] as number,
              top5: classes.slice(),
              top5Prob: top.probs.slice(i * top.k, (i + 1) * top.k),
            });
          }
          await writer.write({
            id: batch.id.slice(start, end),
            label: labels.slice(),
            correct,
            confidence: Float32Array.from(top.confidence),
            top5: top.indices,
            top5Prob: top.probs,
          });
          progress.tick(n);
        }
      }
    });
    progress.finish();
  } finally {
    await images.close();
  }
  const n = rows.length;
  const top1 = rows.filter((r) => r.correct).length;
  return { rows, accuracy: { n, top1: top1 / n, top5: top5Hits / n }, pixels };
}

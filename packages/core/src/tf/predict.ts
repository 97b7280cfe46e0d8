import * as tf from '@tensorflow/tfjs';
import { toUnitFloat } from '../pixels.ts';
import type { Classifier } from './classifier.ts';
import { tidyRead } from './read.ts';

/** Pixels (uint8 0–255 or float 0–1, flat NHWC) as a [n, h, w, c] float tensor in [0,1]. */
export function pixelsToTensor(pixels: Uint8Array | Float32Array, n: number, c: Classifier): tf.Tensor4D {
  return tf.tensor4d(toUnitFloat(pixels), [n, c.height, c.width, c.channels]);
}

export interface TopK {
  k: number;
  /** [n·k] class indices, most probable first. */
  indices: Int32Array;
  /** [n·k] their probabilities. */
  probs: Float32Array;
  /** [n] top-1 probability in float64 (float32 saturates at 1.0 for confident predictions). */
  confidence: Float64Array;
  /** [n] probability of `labels[i]`, when labels are given. */
  labelProb?: Float64Array;
}

/** Top-k classes of a batch, computed from log-probabilities in float64 for stable ranking. */
export async function predictTopK(classifier: Classifier, pixels: Uint8Array | Float32Array, n: number, k: number, labels?: Int32Array): Promise<TopK> {
  const values = await tidyRead(() => classifier.logProbs(pixelsToTensor(pixels, n, classifier)));
  return topKFromLogProbs(values, n, classifier.numClasses, k, labels);
}

export function topKFromLogProbs(values: Float32Array, n: number, classes: number, k: number, labels?: Int32Array): TopK {
  const kk = Math.min(k, classes);
  const indices = new Int32Array(n * kk);
  const probs = new Float32Array(n * kk);
  const confidence = new Float64Array(n);
  const labelProb = labels ? new Float64Array(n) : undefined;
  const order = new Int32Array(classes);
  for (let i = 0; i < n; i++) {
    const row = values.subarray(i * classes, (i + 1) * classes);
    for (let j = 0; j < classes; j++) order[j] = j;
    // Partial selection sort: k ≪ classes; ties go to the lower class index, like tf.topk.
    for (let a = 0; a < kk; a++) {
      let best = a;
      for (let b = a + 1; b < classes; b++) {
        const ob = order[b] as number;
        const obest = order[best] as number;
        if ((row[ob] as number) > (row[obest] as number) || ((row[ob] as number) === (row[obest] as number) && ob < obest)) best = b;
      }
      const t = order[a] as number;
      order[a] = order[best] as number;
      order[best] = t;
      indices[i * kk + a] = order[a] as number;
      probs[i * kk + a] = Math.exp(row[order[a] as number] as number);
    }
    confidence[i] = Math.exp(row[indices[i * kk] as number] as number);
    if (labelProb && labels) labelProb[i] = Math.exp(row[labels[i] as number] as number);
  }
  return { k: kk, indices, probs, confidence, labelProb };
}

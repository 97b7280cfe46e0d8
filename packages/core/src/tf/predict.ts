import * as tf from '@tensorflow/tfjs';
import { toUnitFloat } from '../pixels.ts';
import { classOutputs, logProbsFromScores, type Classifier } from './classifier.ts';
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

export interface CleanOutputs {
  top: TopK;
  /** [n·numClasses] the scores (logits, or log-probabilities) of the class outputs. */
  scores: Float32Array;
  /** [n·2] the two largest scores, largest first. */
  topScores: Float32Array;
  /** [n] log Σ exp(score) over the class outputs (computed in float64). */
  logSumExp: Float32Array;
}

/**
 * One forward pass → the top-k (exactly as predictTopK gives it), the class scores, their top-2
 * and logsumexp: what clean predictions keep per image.
 */
export async function predictCleanOutputs(classifier: Classifier, pixels: Uint8Array | Float32Array, n: number, k: number): Promise<CleanOutputs> {
  const [logp, scores] = tf.tidy(() => {
    const all = classifier.lossScores(pixelsToTensor(pixels, n, classifier));
    return [logProbsFromScores(all, classifier), classOutputs(all, classifier)];
  });
  try {
    // Asynchronous reads: webgpu has no synchronous one in Node (read.ts).
    const [logpValues, scoreValues] = (await Promise.all([logp!.data(), scores!.data()])) as [Float32Array, Float32Array];
    const classes = classifier.numClasses;
    const { topScores, logSumExp } = scoreSummary(scoreValues, n, classes);
    return { top: topKFromLogProbs(logpValues, n, classes, k), scores: scoreValues, topScores, logSumExp };
  } finally {
    tf.dispose([logp!, scores!]);
  }
}

/** Per row of [n·classes] scores: the two largest (largest first) and the logsumexp, in float64. */
export function scoreSummary(scores: Float32Array, n: number, classes: number): { topScores: Float32Array; logSumExp: Float32Array } {
  const topScores = new Float32Array(n * 2);
  const logSumExp = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = scores.subarray(i * classes, (i + 1) * classes);
    let first = -Infinity;
    let second = -Infinity;
    for (let j = 0; j < classes; j++) {
      const v = row[j] as number;
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) second = v;
    }
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp((row[j] as number) - first);
    topScores[2 * i] = first;
    topScores[2 * i + 1] = classes > 1 ? second : first;
    logSumExp[i] = first + Math.log(sum);
  }
  return { topScores, logSumExp };
}

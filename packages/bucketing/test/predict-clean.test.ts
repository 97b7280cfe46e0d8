/**
 * Clean predictions streamed: the loop writes each batch before it pulls the next, keeps only the
 * correct images' ids and confidences, and writes full scores for the calibration split alone,
 * which is seeded, of the configured size, and the same whatever the batch size.
 */
import { describe, expect, it } from 'vitest';
import type { ImageBatch } from '@gradsign/core';
import { scoreSummary, topKFromLogProbs, type CleanOutputs } from '@gradsign/core/tf';
import { calibrationMask, calibrationSize } from '../src/calibration.ts';
import { streamCleanPredictions, type CleanSinks } from '../src/predict-clean.ts';

const CLASSES = 4;

/** Scores of image `id`: the class `id % 4` leads (wrongly for ids ≡ 3 mod 5) by a margin growing with id. */
function scoresOf(id: number, label: number): Float32Array {
  const top = id % 5 === 3 ? (label + 1) % CLASSES : label;
  return Float32Array.from({ length: CLASSES }, (_, c) => (c === top ? 1 + id / 10 : -c / 3));
}

async function predict(batch: ImageBatch): Promise<CleanOutputs> {
  const n = batch.id.length;
  const scores = new Float32Array(n * CLASSES);
  batch.id.forEach((id, i) => scores.set(scoresOf(id, batch.label[i]!), i * CLASSES));
  const logp = new Float32Array(scores.length);
  const { topScores, logSumExp } = scoreSummary(scores, n, CLASSES);
  for (let i = 0; i < n; i++) for (let c = 0; c < CLASSES; c++) logp[i * CLASSES + c] = scores[i * CLASSES + c]! - logSumExp[i]!;
  return { top: topKFromLogProbs(logp, n, CLASSES, 5), scores, topScores, logSumExp };
}

interface Recorded {
  predictions: { id: number[]; calibration: number[] }[];
  calibration: { id: number[]; scores: Float32Array }[];
}

function recordingSinks(): { sinks: CleanSinks; recorded: Recorded } {
  const recorded: Recorded = { predictions: [], calibration: [] };
  const sinks: CleanSinks = {
    predictions: { write: async (b) => void recorded.predictions.push({ id: [...b.id], calibration: [...b.calibration] }) },
    calibration: { write: async (b) => void recorded.calibration.push({ id: [...b.id], scores: b.scores.slice() }) },
  };
  return { sinks, recorded };
}

/** `batches` batches of `size` images (ids 0…), noting how many batches were written when each was pulled. */
function source(batches: number, size: number, recorded: Recorded, writtenWhenPulled: number[]): AsyncGenerator<ImageBatch> {
  return (async function* () {
    for (let b = 0; b < batches; b++) {
      writtenWhenPulled.push(recorded.predictions.length);
      const id = Int32Array.from({ length: size }, (_, i) => b * size + i);
      yield { id, label: Int32Array.from(id, (x) => x % CLASSES), image: new Uint8Array(size) };
    }
  })();
}

describe('streamCleanPredictions', () => {
  it('writes each batch before pulling the next, and keeps only the correct ids and confidences', async () => {
    const { sinks, recorded } = recordingSinks();
    const pulled: number[] = [];
    const mask = calibrationMask(30, { count: 4 }, 7);
    const summary = await streamCleanPredictions(source(5, 6, recorded, pulled), predict, sinks, mask);
    // Batch k is pulled after batches 0…k−1 were written: one batch in memory at a time.
    expect(pulled).toEqual([0, 1, 2, 3, 4]);
    expect(recorded.predictions.map((b) => b.id.length)).toEqual([6, 6, 6, 6, 6]);

    const wrong = Array.from({ length: 30 }, (_, id) => id).filter((id) => id % 5 === 3);
    expect(summary.accuracy).toEqual({ n: 30, top1: 24 / 30, top5: 1 });
    expect(Object.keys(summary.correct)).toEqual(['id', 'confidence']);
    expect(Array.from(summary.correct.id)).toEqual(Array.from({ length: 30 }, (_, id) => id).filter((id) => !wrong.includes(id)));
    expect(summary.correct.confidence).toBeInstanceOf(Float64Array);

    // Full scores only for the calibration split, each row the image's own scores.
    const inSplit = [...mask.keys()].filter((i) => mask[i]);
    expect(summary.calibration).toBe(4);
    expect(recorded.predictions.flatMap((b) => b.calibration)).toEqual(Array.from(mask));
    const calibrated = recorded.calibration.flatMap((b) => b.id.map((id, j) => ({ id, scores: b.scores.slice(j * CLASSES, (j + 1) * CLASSES) })));
    expect(calibrated.map((c) => c.id)).toEqual(inSplit);
    for (const c of calibrated) expect(c.scores).toEqual(scoresOf(c.id, c.id % CLASSES));
  });

  it('gives the same rows and split whatever the batch size', async () => {
    const mask = calibrationMask(24, { fraction: 0.25 }, 3);
    const runs = [];
    for (const [batches, size] of [[1, 24], [8, 3], [24, 1]] as const) {
      const { sinks, recorded } = recordingSinks();
      const summary = await streamCleanPredictions(source(batches, size, recorded, []), predict, sinks, mask);
      runs.push({ summary, calibration: recorded.calibration.flatMap((b) => b.id), flags: recorded.predictions.flatMap((b) => b.calibration) });
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

describe('calibration split', () => {
  it('is of the configured size: count (at most all images) or a rounded fraction', () => {
    expect(calibrationSize(5000, { count: 1000 })).toBe(1000);
    expect(calibrationSize(300, { count: 1000 })).toBe(300);
    expect(calibrationSize(5000, { fraction: 0.02 })).toBe(100);
    expect(calibrationSize(49, { fraction: 0.05 })).toBe(2);
    for (const [n, config] of [[5000, { count: 1000 }], [300, { count: 1000 }], [5000, { fraction: 0.02 }], [10, { count: 0 }]] as const) {
      expect(calibrationMask(n, config, 0).reduce((a, b) => a + b, 0)).toBe(calibrationSize(n, config));
    }
  });

  it('is seeded: the same seed gives the same images, another seed others', () => {
    const a = calibrationMask(2000, { count: 50 }, 11);
    expect(calibrationMask(2000, { count: 50 }, 11)).toEqual(a);
    expect(calibrationMask(2000, { count: 50 }, 12)).not.toEqual(a);
    // Spread over the split, not a prefix.
    const positions = [...a.keys()].filter((i) => a[i]);
    expect(Math.max(...positions)).toBeGreaterThan(1000);
  });
});

describe('scoreSummary', () => {
  it('gives the two largest scores and the logsumexp of each row', () => {
    const scores = Float32Array.from([0.5, 3, -1, 2.5, /* row 2 */ 100, 100, 99, 0]);
    const { topScores, logSumExp } = scoreSummary(scores, 2, 4);
    expect(Array.from(topScores)).toEqual([3, 2.5, 100, 100]);
    expect(logSumExp[0]).toBeCloseTo(Math.log(Math.exp(0.5) + Math.exp(3) + Math.exp(-1) + Math.exp(2.5)), 5);
    expect(logSumExp[1]).toBeCloseTo(100 + Math.log(2 + Math.exp(-1) + Math.exp(-100)), 4);
  });
});

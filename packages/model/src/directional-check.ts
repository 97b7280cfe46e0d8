/**
 * Is the model's input gradient right? tf.grad's directional derivatives against float32 central
 * differences along random directions (see checkDirectionalDerivative for the numbers and why).
 */
import { GradsignError, Rng } from '@gradsign/core';
import { tf, tidyRead, type Classifier } from '@gradsign/core/tf';
import { opFailure } from './gradient-check.ts';

export interface DirectionalCheck {
  /** ⟨∇ₓ⟨r, out(x)⟩, v⟩ from tf.grad, for the first direction. */
  derivative: number;
  /** (⟨r, out(x + hv)⟩ − ⟨r, out(x − hv)⟩) / 2h for that direction, at the step used. */
  difference: number;
  h: number;
  /** RMS over the directions of (difference − derivative) over the RMS of the derivatives. */
  relativeError: number;
  /** The relativeError accepted. */
  tolerance: number;
  directions: number;
}

/** Steps in pixel units ([0,1]): h = half an 8-bit level, then h/4. */
const STEPS = [2e-3, 5e-4];
const DIRECTIONS = 8;
const TOLERANCE = 0.4;
/** float32 rounding allowed per evaluation of ⟨r, out⟩, in ulps of Σⱼ|rⱼ·outⱼ| (measured: ≤ 0.2). */
const ROUNDING_ULPS = 2;
const EPS32 = 2 ** -23;
/** The probe is jittered by up to this much so it sits on no max-pool tie or ReLU kink (8-bit images have many). */
const JITTER = 1 / 255;

/**
 * Checks the input gradient of out(x) = the classifier's log-probabilities (what the attacks
 * differentiate) at the probe image, jittered: for 8 seeded random directions v (uniform in
 * [−1, 1] per pixel) and seeded random weights r on the probe's top-5 classes (informative
 * outputs, and small float32 rounding even with 1,000 classes), tf.grad's directional derivative
 * ⟨∇ₓ⟨r, out⟩, v⟩ against the central difference (⟨r, out(x + hv)⟩ − ⟨r, out(x − hv)⟩) / 2h, both
 * over the actual float32 steps. relativeError = RMS(difference − derivative) / RMS(derivative).
 * Accepted at h = 2e-3 or, failing that, h/4 when relativeError ≤ 0.4 (plus float32 rounding).
 *
 * Why these numbers: a ReLU/max-pool network is piecewise linear, and along a dense direction any
 * h a float32 difference can resolve crosses kinks, so the difference is not the derivative at x.
 * Measured with correct gradients: one direction misses by 1–60% on gradsign's trained default
 * CNN, at every h from 1e-2 down to 2.5e-4, hence pooling 8 directions; pooled, the error is
 * ≤ 0.31 on 120 Fashion-MNIST test images (two needed h/4, which crosses ~4× fewer kinks) and
 * ≤ 0.25 on random deep CNNs, the float64-verified layer cases and the Inception-style block.
 * A gradient off by a factor 2 gives ≥ 0.5 (0.6–1.0 measured), a wrong sign or a dropped branch
 * more. Subtler errors (10% per layer, a wrong border divisor) pass: catching those is what the
 * per-layer tests against the float64 reference (verified-ops.ts) are for. On failure the
 * GradsignError names the model's layers/ops outside the verified list.
 */
export async function checkDirectionalDerivative(
  classifier: Classifier,
  image: Float32Array,
  path: string,
  backend: string,
  unverified: string[],
  seed = 0,
): Promise<DirectionalCheck> {
  const shape: [number, number, number] = [classifier.height, classifier.width, classifier.channels];
  const n = image.length;
  const rng = new Rng(seed, 11);
  const x = Float32Array.from(image, (p) => p + JITTER * (2 * rng.next() - 1));
  const directions = Array.from({ length: DIRECTIONS }, () => Float32Array.from(x, () => 2 * rng.next() - 1));
  const evaluate = (batch: Float32Array[]) => {
    const flat = new Float32Array(batch.length * n);
    batch.forEach((b, k) => flat.set(b, k * n));
    return tidyRead(() => classifier.logProbs(tf.tensor4d(flat, [batch.length, ...shape])));
  };
  let gradient: Float32Array;
  let r: Float32Array;
  try {
    r = topClassWeights(await evaluate([x]), rng);
    gradient = await tidyRead(() => {
      const weighted = (input: tf.Tensor) => tf.sum(tf.mul(classifier.logProbs(input as tf.Tensor4D), tf.tensor1d(r)));
      return tf.grad(weighted)(tf.tensor4d(x, [1, ...shape]));
    });
  } catch (error) {
    throw opFailure(error, path, backend, 'the directional-derivative check');
  }
  const k = classifier.numClasses;
  /** ⟨r, out⟩ of probe `i` and the float32 rounding it may carry. */
  const weighted = (outputs: Float32Array, i: number) => {
    let sum = 0;
    let magnitude = 0;
    for (let j = 0; j < k; j++) {
      const term = r[j]! * outputs[i * k + j]!;
      sum += term;
      magnitude += Math.abs(term);
    }
    return { sum, rounding: ROUNDING_ULPS * EPS32 * magnitude };
  };
  const attempts: DirectionalCheck[] = [];
  for (const h of STEPS) {
    const probes = directions.flatMap((v) => [1, -1].map((sign) => Float32Array.from(x, (p, i) => p + sign * h * v[i]!)));
    let outputs: Float32Array;
    try {
      outputs = await evaluate(probes);
    } catch (error) {
      throw opFailure(error, path, backend, 'the directional-derivative check');
    }
    let [squaredError, squaredScale, squaredRounding] = [0, 0, 0];
    const first = { derivative: 0, difference: 0 };
    directions.forEach((_, d) => {
      const [plus, minus] = [probes[2 * d]!, probes[2 * d + 1]!];
      let predicted = 0;
      for (let i = 0; i < n; i++) predicted += gradient[i]! * (plus[i]! - minus[i]!);
      const [fPlus, fMinus] = [weighted(outputs, 2 * d), weighted(outputs, 2 * d + 1)];
      const measured = fPlus.sum - fMinus.sum;
      squaredError += (measured - predicted) ** 2;
      squaredScale += predicted ** 2;
      squaredRounding += (fPlus.rounding + fMinus.rounding) ** 2;
      if (d === 0) [first.derivative, first.difference] = [predicted / (2 * h), measured / (2 * h)];
    });
    const attempt = { ...first, h, relativeError: Math.sqrt(squaredError / Math.max(squaredScale, Number.MIN_VALUE)), tolerance: TOLERANCE, directions: DIRECTIONS };
    attempts.push(attempt);
    if (Math.sqrt(squaredError) <= TOLERANCE * Math.sqrt(squaredScale) + Math.sqrt(squaredRounding)) return attempt;
  }
  throw wrongGradient(attempts, path, backend, unverified);
}

/** Seeded weights in [−1, 1] on the 5 most probable classes, 0 elsewhere. */
function topClassWeights(logProbs: Float32Array, rng: Rng): Float32Array {
  const top = Array.from(logProbs.keys()).sort((a, b) => logProbs[b]! - logProbs[a]!).slice(0, 5);
  const r = new Float32Array(logProbs.length);
  for (const j of top) r[j] = 2 * rng.next() - 1;
  return r;
}

const num = (x: number) => x.toPrecision(4);

function wrongGradient(attempts: DirectionalCheck[], path: string, backend: string, unverified: string[]): GradsignError {
  const detail = attempts.map((a) => `${(100 * a.relativeError).toFixed(0)}% at h = ${a.h}`).join(', ');
  const [first] = attempts;
  return new GradsignError(
    `the input gradient of the model in ${path} is wrong on the ${backend} backend: along ${first!.directions} random directions it disagrees with finite differences by ${detail} of its size ` +
      `(e.g. derivative ${num(first!.derivative)} vs central difference ${num(first!.difference)})`,
    {
      hint: unverified.length
        ? `the model uses ${unverified.join(', ')}, outside gradsign's verified list (packages/core/src/tf/verified-ops.ts): tfjs's gradient for one of them is likely wrong. Re-export the model with verified equivalents, or try --backend cpu`
        : `every layer and op of the model is on gradsign's verified list, so this is unexpected: try --backend cpu, and please report it with the model`,
    },
  );
}

/**
 * What every attack shares, written once: the loss gradient in pixel space, the step direction
 * (targeted or not), and the projection onto the ε-ball of the ORIGINAL image ∩ [0,1].
 * Methods (methods/*.ts) hold only their update rule.
 */
import { tf } from '@gradsign/core/tf';
import type { Classifier } from '@gradsign/core/tf';
import type { Norm } from '@gradsign/core';

/** Per-image L2 norm of a [n, h, w, c] tensor, shaped [n, 1, 1, 1] for broadcasting. */
export function l2Norm(t: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(t), [1, 2, 3], true)) as tf.Tensor4D);
}

/** Per-image L1 norm, shaped [n, 1, 1, 1]. */
export function l1Norm(t: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sum(tf.abs(t), [1, 2, 3], true) as tf.Tensor4D);
}

/** g / ‖g‖₂ per image; an all-zero gradient stays zero (no step), like sign(0) = 0. */
export function unitL2(g: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const norm = l2Norm(g);
    return tf.div(g, tf.maximum(norm, 1e-12)) as tf.Tensor4D;
  });
}

export interface AttackContext {
  readonly classifier: Classifier;
  /** The clean images, [n, h, w, c] in [0,1]. */
  readonly x0: tf.Tensor4D;
  /** The class whose loss drives the gradient: the true label, or the target. */
  readonly targets: tf.Tensor1D;
  /** +1 ascends the loss of `targets` (untargeted, "inverse"); −1 descends it (targeted). */
  readonly direction: 1 | -1;
  readonly eps: number;
  readonly norm: Norm;
  /** Per-image uniform numbers in [0,1), seeded by image id (for random starts). */
  uniform(shapePerImage: number): Float32Array;
}

/** ∇x of the summed cross-entropy Σᵢ −log p(targetsᵢ | xᵢ). Summed, so each image's gradient is independent of the batch. */
export function lossGradient(ctx: AttackContext, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(ctx.targets, ctx.classifier.numClasses).toFloat();
    const grad = tf.grad((input: tf.Tensor) => tf.neg(tf.sum(tf.mul(ctx.classifier.logProbs(input as tf.Tensor4D), oneHot))));
    return grad(x) as tf.Tensor4D;
  });
}

/** The steepest-ascent direction of the norm: sign(g) for L∞, g/‖g‖₂ for L2, times `direction`. */
export function stepDirection(ctx: AttackContext, g: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const d = ctx.norm === 'linf' ? tf.sign(g) : unitL2(g);
    return (ctx.direction === 1 ? d : tf.neg(d)) as tf.Tensor4D;
  });
}

/** Projects x onto {x' : ‖x' − x0‖ ≤ ε} ∩ [0,1]; always relative to the original x0. */
export function project(ctx: AttackContext, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    let delta = tf.sub(x, ctx.x0) as tf.Tensor4D;
    if (ctx.norm === 'linf') {
      delta = tf.clipByValue(delta, -ctx.eps, ctx.eps);
    } else {
      const scale = tf.minimum(1, tf.div(ctx.eps, tf.maximum(l2Norm(delta), 1e-12)));
      delta = tf.mul(delta, scale) as tf.Tensor4D;
    }
    // Clipping to [0,1] only shrinks each |δᵢ| (x0 is in [0,1]), so the ball constraint still holds.
    return tf.clipByValue(tf.add(ctx.x0, delta), 0, 1) as tf.Tensor4D;
  });
}

/** One signed-gradient step of size `alpha` from x, projected. */
export function gradientStep(ctx: AttackContext, x: tf.Tensor4D, alpha: number): tf.Tensor4D {
  return tf.tidy(() => project(ctx, tf.add(x, tf.mul(stepDirection(ctx, lossGradient(ctx, x)), alpha)) as tf.Tensor4D));
}

export interface MethodParams {
  steps: number;
  alpha: number;
  momentum?: number;
}

/** An attack method: its defaults (from its paper) and its update rule. */
export interface AttackMethod {
  readonly name: string;
  /** Fills in steps/alpha/momentum not given, from ε; validates what was given. */
  resolve(eps: number, norm: Norm, given: Partial<MethodParams>): MethodParams;
  /** The adversarial images, [n, h, w, c]; must stay inside project()'s set. */
  perturb(ctx: AttackContext, params: MethodParams): tf.Tensor4D;
}

/** Repeats `step` `steps` times from `start`, disposing intermediate images. */
export function iterate(start: tf.Tensor4D, steps: number, step: (x: tf.Tensor4D, i: number) => tf.Tensor4D): tf.Tensor4D {
  let x = start;
  for (let i = 0; i < steps; i++) {
    const next = step(x, i);
    if (x !== start) x.dispose();
    x = next;
  }
  return x === start ? tf.clone(start) : x;
}

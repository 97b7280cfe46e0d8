/**
 * What every attack shares, written once: the loss gradient in pixel space, the step direction
 * (targeted or not), and the projection onto the ε-ball of the ORIGINAL image ∩ [0,1].
 * Methods (methods/*.ts) hold only their update rule.
 */
import { tf } from '@gradsign/core/tf';
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
  /** The clean images, [n, h, w, c] in [0,1]. */
  readonly x0: tf.Tensor4D;
  /** +1 ascends the loss of the gradient's class (untargeted, "inverse"); −1 descends it (targeted). */
  readonly direction: 1 | -1;
  readonly eps: number;
  readonly norm: Norm;
  /** L∞ only, optional: the box [max(x0 − ε, 0), min(x0 + ε, 1)], computed once per batch (kept by the caller). */
  box?(): [tf.Tensor4D, tf.Tensor4D];
  /** ∇x Σᵢ −log p(yᵢ | xᵢ) at x, yᵢ the class that drives image i's gradient (fixed per batch). */
  gradient(x: tf.Tensor4D): tf.Tensor4D;
  /** Per-image uniform numbers in [0,1), seeded by image id (for random starts). */
  uniform(shapePerImage: number): Float32Array;
  /** Called after every step with the current images (step 1, 2, …); for tests and tracing. */
  onStep?(step: number, x: tf.Tensor4D): void;
}

/** ∇x of the summed cross-entropy Σᵢ −log p(yᵢ | xᵢ). Summed, so each image's gradient is independent of the batch. */
export function lossGradient(ctx: AttackContext, x: tf.Tensor4D): tf.Tensor4D {
  return ctx.gradient(x);
}

/** The steepest-ascent direction of the norm: sign(g) for L∞ (sign(0) = 0), g/‖g‖₂ for L2, times `direction`. */
export function stepDirection(ctx: AttackContext, g: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const d = ctx.norm === 'linf' ? tf.sign(g) : unitL2(g);
    return (ctx.direction === 1 ? d : tf.neg(d)) as tf.Tensor4D;
  });
}

/** The L∞ box [max(x0 − ε, 0), min(x0 + ε, 1)] around the original images. */
export function linfBox(x0: tf.Tensor4D, eps: number): [tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => [tf.maximum(tf.sub(x0, eps), 0) as tf.Tensor4D, tf.minimum(tf.add(x0, eps), 1) as tf.Tensor4D]);
}

/** Projects x onto {x' : ‖x' − x0‖ ≤ ε} ∩ [0,1]; always relative to the original x0. */
export function project(ctx: AttackContext, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    if (ctx.norm === 'linf') {
      // Clipping to the box is the exact projection: two elementwise ops when the box is precomputed.
      const [lower, upper] = ctx.box ? ctx.box() : linfBox(ctx.x0, ctx.eps);
      return tf.minimum(tf.maximum(x, lower), upper) as tf.Tensor4D;
    }
    let delta = tf.sub(x, ctx.x0) as tf.Tensor4D;
    const scale = tf.minimum(1, tf.div(ctx.eps, tf.maximum(l2Norm(delta), 1e-12)));
    delta = tf.mul(delta, scale) as tf.Tensor4D;
    // Clipping to [0,1] only shrinks each |δᵢ| (x0 is in [0,1]), so the ball constraint still holds.
    return tf.clipByValue(tf.add(ctx.x0, delta), 0, 1) as tf.Tensor4D;
  });
}

/** One steepest-ascent step of size `alpha` from x (sign step for L∞), projected. */
export function gradientStep(ctx: AttackContext, x: tf.Tensor4D, alpha: number): tf.Tensor4D {
  return tf.tidy(() => {
    const g = lossGradient(ctx, x);
    const d = ctx.norm === 'linf' ? tf.sign(g) : unitL2(g);
    // direction folded into the step size: one multiply, and −(α) is exact in float32.
    const stepped = tf.add(x, tf.mul(d, alpha * ctx.direction)) as tf.Tensor4D;
    // From x0 with α ≤ ε (FGSM) the ε-box cannot bind: fl(x0 ± fl(α)) lies between fl(x0 ± fl(ε))
    // and x0 (rounding is monotonic), so clipping to [0,1] is the same projection, in one op.
    if (ctx.norm === 'linf' && x === ctx.x0 && alpha <= ctx.eps) return tf.clipByValue(stepped, 0, 1) as tf.Tensor4D;
    return project(ctx, stepped);
  });
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

/** Repeats `step` `steps` times from `start`, disposing intermediate images; reports each step to ctx.onStep. */
export function iterate(ctx: AttackContext, start: tf.Tensor4D, steps: number, step: (x: tf.Tensor4D, i: number) => tf.Tensor4D): tf.Tensor4D {
  let x = start;
  for (let i = 0; i < steps; i++) {
    const next = step(x, i);
    if (x !== start) x.dispose();
    x = next;
    ctx.onStep?.(i + 1, x);
  }
  return x === start ? tf.clone(start) : x;
}

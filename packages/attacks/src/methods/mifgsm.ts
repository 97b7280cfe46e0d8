/**
 * MI-FGSM — Momentum Iterative FGSM (Dong et al. 2018, "Boosting Adversarial Attacks with
 * Momentum").
 *
 *   g₀ = 0;  gₙ₊₁ = μ·gₙ + ∇x L(xₙ, y)/‖∇x L(xₙ, y)‖₁;  xₙ₊₁ = Π(xₙ + d·α·sign(gₙ₊₁))
 *
 * Defaults: steps = 10, α = ε/steps, μ = 1.0. With norm "l2" the step is α·g/‖g‖₂.
 */
import { tf } from '@gradsign/core/tf';
import { l1Norm, lossGradient, project, stepDirection, type AttackMethod } from '../base.ts';

export const mifgsm: AttackMethod = {
  name: 'mifgsm',
  resolve(eps, _norm, given) {
    const steps = given.steps ?? 10;
    return { steps, alpha: given.alpha ?? eps / steps, momentum: given.momentum ?? 1.0 };
  },
  perturb(ctx, { steps, alpha, momentum = 1.0 }) {
    let x = ctx.x0;
    let g = tf.zerosLike(ctx.x0);
    for (let i = 0; i < steps; i++) {
      const [nextX, nextG] = tf.tidy(() => {
        const grad = lossGradient(ctx, x);
        const accumulated = tf.add(tf.mul(g, momentum), tf.div(grad, tf.maximum(l1Norm(grad), 1e-12))) as tf.Tensor4D;
        const stepped = project(ctx, tf.add(x, tf.mul(stepDirection(ctx, accumulated), alpha)) as tf.Tensor4D);
        return [stepped, accumulated];
      });
      if (x !== ctx.x0) x.dispose();
      g.dispose();
      x = nextX;
      g = nextG;
      ctx.onStep?.(i + 1, x);
    }
    g.dispose();
    return x === ctx.x0 ? tf.clone(x) : x;
  },
};

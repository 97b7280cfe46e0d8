/**
 * PGD — Projected Gradient Descent (Madry et al. 2018, "Towards Deep Learning Models Resistant to
 * Adversarial Attacks"): BIM from a random start inside the ε-ball.
 *
 *   x₀ = Π(x + u), u ~ U(ε-ball) (seeded per image id);  xₙ₊₁ = Π(xₙ + d·α·sign(∇x L(xₙ, y)))
 *
 * Defaults: steps = 10, α = 2.5·ε/steps. L2: u is uniform in the L2 ball of radius ε.
 */
import { tf } from '@gradsign/core/tf';
import { gradientStep, iterate, l2Norm, project, type AttackContext, type AttackMethod } from '../base.ts';

/** A uniform random point of the ε-ball around each image (before clipping to [0,1]). */
export function randomStart(ctx: AttackContext): tf.Tensor4D {
  const [n, h, w, c] = ctx.x0.shape;
  const size = h * w * c;
  return tf.tidy(() => {
    if (ctx.norm === 'linf') {
      const u = tf.tensor4d(ctx.uniform(size), [n, h, w, c]);
      return project(ctx, tf.add(ctx.x0, tf.mul(tf.sub(tf.mul(u, 2), 1), ctx.eps)) as tf.Tensor4D);
    }
    // L2: a Gaussian direction (Box–Muller) scaled to radius ε·r^(1/d), r uniform — uniform in the ball.
    const u = ctx.uniform(2 * size + 1);
    const gauss = new Float32Array(n * size);
    const radius = new Float32Array(n);
    const per = 2 * size + 1;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < size; j++) {
        const u1 = Math.max(u[i * per + 2 * j] as number, 1e-12);
        const u2 = u[i * per + 2 * j + 1] as number;
        gauss[i * size + j] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      }
      radius[i] = ctx.eps * Math.pow(u[i * per + 2 * size] as number, 1 / size);
    }
    const g = tf.tensor4d(gauss, [n, h, w, c]);
    const delta = tf.mul(tf.div(g, tf.maximum(l2Norm(g), 1e-12)), tf.tensor4d(radius, [n, 1, 1, 1]));
    return project(ctx, tf.add(ctx.x0, delta) as tf.Tensor4D);
  });
}

export const pgd: AttackMethod = {
  name: 'pgd',
  resolve(eps, _norm, given) {
    const steps = given.steps ?? 10;
    return { steps, alpha: given.alpha ?? (2.5 * eps) / steps };
  },
  perturb(ctx, { steps, alpha }) {
    const start = randomStart(ctx);
    const out = iterate(ctx, start, steps, (x) => gradientStep(ctx, x, alpha));
    start.dispose();
    return out;
  },
};

/**
 * BIM — Basic Iterative Method (Kurakin, Goodfellow & Bengio 2016, "Adversarial examples in the
 * physical world"); the paper's "iterative" method. Also known as I-FGSM.
 *
 *   x₀ = x;  xₙ₊₁ = Π_{ε-ball(x) ∩ [0,1]}(xₙ + d·α·sign(∇x L(xₙ, y)))
 *
 * Defaults (L∞, Kurakin): α = 1/255, steps = max(1, ⌊min(255ε + 4, 1.25·255ε)⌋) — the formula
 * alone gives 0 steps below ε ≈ 0.0031. With norm "l2", α and steps must be given.
 */
import { gradientStep, iterate, type AttackMethod } from '../base.ts';

export function kurakinSteps(eps: number): number {
  return Math.max(1, Math.floor(Math.min(255 * eps + 4, 1.25 * 255 * eps)));
}

export const bim: AttackMethod = {
  name: 'bim',
  resolve(eps, norm, given) {
    return { steps: given.steps ?? kurakinSteps(eps), alpha: given.alpha ?? (norm === 'linf' ? 1 / 255 : Number.NaN) };
  },
  perturb(ctx, { steps, alpha }) {
    return iterate(ctx, ctx.x0, steps, (x) => gradientStep(ctx, x, alpha));
  },
};

/**
 * FGSM — Fast Gradient Sign Method (Goodfellow, Shlens & Szegedy 2014, "Explaining and Harnessing
 * Adversarial Examples"); the paper's "fast" method.
 *
 *   x' = clip₀¹(x + d·ε·sign(∇x L(x, y)))      d = +1 untargeted (inverse), −1 targeted
 *
 * norm "l2" gives FGM: the step is ε·∇/‖∇‖₂. One step; steps and alpha do not apply (alpha = ε).
 * (Clipping x + ε·s to [0,1] equals clipping it to the ε-box ∩ [0,1], which is what the shared
 * step does, so FGSM is BIM with one step of size ε.)
 */
import { gradientStep, iterate, type AttackMethod } from '../base.ts';

export const fgsm: AttackMethod = {
  name: 'fgsm',
  resolve(eps) {
    return { steps: 1, alpha: eps };
  },
  perturb(ctx) {
    return iterate(ctx, ctx.x0, 1, (x) => gradientStep(ctx, x, ctx.eps));
  },
};

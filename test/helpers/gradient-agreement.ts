/**
 * Compares a tfjs (float32) input gradient with float64 finite differences of the same function,
 * skipping kinks: coordinates where the forward and backward differences disagree, i.e. a ReLU or
 * a max-pool switch lies within ±h, so the derivative is not defined there.
 */
import type { Differences } from '../reference/float64.ts';

export interface Agreement {
  /** max |fd| over the compared coordinates: the scale tolerances are relative to. */
  scale: number;
  /** Coordinates compared (kinks excluded), and kinks skipped. */
  compared: number;
  kinks: number;
  /** Largest |g − fd| / scale, and the coordinate where it occurs. */
  worst: number;
  worstAt: number;
  /** Among compared coordinates with |fd| > 1e-6·scale: the share where sign(g) = sign(fd). */
  signAgreement: number;
}

/** g indexed by coordinate; fd's entry j belongs to coords[j]. */
export function agreement(g: ArrayLike<number>, fd: Differences, coords: ArrayLike<number>, kinkTolerance: number): Agreement {
  let scale = 0;
  for (const v of fd.central) scale = Math.max(scale, Math.abs(v));
  const result: Agreement = { scale, compared: 0, kinks: 0, worst: 0, worstAt: -1, signAgreement: 1 };
  let signed = 0;
  let sameSign = 0;
  for (let j = 0; j < coords.length; j++) {
    if (Math.abs(fd.forward[j]! - fd.backward[j]!) > kinkTolerance * scale) {
      result.kinks++;
      continue;
    }
    const i = coords[j]!;
    result.compared++;
    const error = Math.abs(g[i]! - fd.central[j]!) / scale;
    if (error > result.worst) [result.worst, result.worstAt] = [error, i];
    if (Math.abs(fd.central[j]!) > 1e-6 * scale) {
      signed++;
      if (Math.sign(g[i]!) === Math.sign(fd.central[j]!)) sameSign++;
    }
  }
  result.signAgreement = signed ? sameSign / signed : 1;
  return result;
}

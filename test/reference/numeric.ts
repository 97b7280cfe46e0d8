/** Finite differences and the softmax cross-entropy gradient at the logits, in float64. */

export interface Differences {
  central: Float64Array;
  forward: Float64Array;
  backward: Float64Array;
}

/**
 * Forward, backward and central differences of f at x along each coordinate in `coords` (all by
 * default); entry j belongs to coords[j]. Where forward and backward disagree, a kink (ReLU,
 * max-pool switch) lies within ±h.
 */
export function differences(f: (x: Float64Array) => number, x: Float64Array, h: number, coords?: ArrayLike<number>): Differences {
  const at = coords ?? Array.from(x, (_, i) => i);
  const center = f(x);
  const probe = Float64Array.from(x);
  const n = at.length;
  const result: Differences = { central: new Float64Array(n), forward: new Float64Array(n), backward: new Float64Array(n) };
  for (let j = 0; j < n; j++) {
    const c = at[j]!;
    probe[c] = x[c]! + h;
    const plus = f(probe);
    probe[c] = x[c]! - h;
    const minus = f(probe);
    probe[c] = x[c]!;
    result.central[j] = (plus - minus) / (2 * h);
    result.forward[j] = (plus - center) / h;
    result.backward[j] = (center - minus) / h;
  }
  return result;
}

/** (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for each coordinate i in `coords` (all by default); entry j belongs to coords[j]. */
export function centralDifference(f: (x: Float64Array) => number, x: Float64Array, h: number, coords?: ArrayLike<number>): Float64Array {
  return differences(f, x, h, coords).central;
}

export function logSumExp(z: ArrayLike<number>): number {
  let max = -Infinity;
  for (let j = 0; j < z.length; j++) max = Math.max(max, z[j]!);
  let sum = 0;
  for (let j = 0; j < z.length; j++) sum += Math.exp(z[j]! - max);
  return max + Math.log(sum);
}

/**
 * ∂(−log softmax(z)_y)/∂z in the log domain: pⱼ = exp(zⱼ − logsumexp z) for j ≠ y, and the y entry
 * −Σ_{j≠y} pⱼ (= p_y − 1 without its cancellation when p_y ≈ 1).
 */
export function crossEntropyLogitGradient(logits: ArrayLike<number>, label: number): Float64Array {
  const lse = logSumExp(logits);
  const g = Float64Array.from(logits as ArrayLike<number>, (z, j) => (j === label ? 0 : Math.exp(z - lse)));
  let rest = 0;
  for (let j = 0; j < g.length; j++) rest += g[j]!;
  g[label] = -rest;
  return g;
}

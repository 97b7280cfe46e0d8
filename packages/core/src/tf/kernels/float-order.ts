/**
 * Float32 order on int32 bit patterns, for branch-free kernels over ReLU outputs (≥ 0 or NaN).
 *
 * The order key of a pattern is (bits + 2²³ − 1) mod 2³¹. Values ≥ 0 keep their order (their
 * patterns, sign bit cleared, are ordered like the values): +0 and −0 both get ZERO_KEY, +∞ gets
 * 2³¹ − 1. The 2²³ − 1 NaN patterns, above +∞'s, wrap around to [0, ZERO_KEY): below every
 * activation, so, as in tfjs's MaxPoolGrad, a NaN is never a window's maximum and a window of NaN
 * passes no gradient. Keys lie in [0, 2³¹), so differences of keys do not overflow int32.
 */
export const KEY_OFFSET = 0x7fffff;
export const KEY_MASK = 0x7fffffff;
export const ZERO_KEY = KEY_OFFSET;

export const orderKey = (bits: number): number => (bits + KEY_OFFSET) & KEY_MASK;

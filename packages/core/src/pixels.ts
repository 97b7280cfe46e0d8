/** 8-bit pixels ↔ [0,1] floats, one definition each: shared by every stage. */

/** 8-bit pixels (0–255) → float32 in [0,1] (k/255 rounded to float32); floats pass through unchanged. */
export function toUnitFloat(pixels: Uint8Array | Float32Array): Float32Array {
  if (pixels instanceof Float32Array) return pixels;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = (pixels[i] as number) / 255;
  return out;
}

/** Rounds half to even (banker's rounding), as numpy and PyTorch do. */
export function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const diff = v - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * [0,1] floats → bytes: clipped, scaled by 255 in float32 (as `(x * 255).round()` on a float32
 * tensor does in numpy and PyTorch), rounded half to even.
 */
export function toBytes(pixels: Float32Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = roundHalfEven(Math.fround(Math.min(1, Math.max(0, pixels[i] as number)) * 255));
  return out;
}

/** What saving to an 8-bit image and reading it back does: [0,1] floats → k/255. */
export function quantize(pixels: Float32Array): Float32Array {
  return toUnitFloat(toBytes(pixels));
}

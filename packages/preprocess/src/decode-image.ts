/**
 * One source image → model input pixels (uint8, HWC, 1 or 3 channels), deterministically, with
 * sharp (libvips). The presets (docs/bring-your-own-model.md):
 *
 * - `slim`:  TF-slim's Inception evaluation: central crop of 87.5% of each side, exactly as
 *            tf.image.central_crop computes it, then a bilinear resize to the input size.
 * - `keras`: Keras applications: a bilinear resize to the input size, no crop (aspect not kept).
 * - `crop`:  resize so the shorter side fits the input, then a centre crop (fit "cover").
 *
 * "Bilinear" is libvips' `linear` kernel. When shrinking it averages over the whole footprint
 * (a triangle filter, like PIL's BILINEAR and tf.image.resize(antialias=True)), where TF1's
 * resize_bilinear samples only the 4 nearest pixels; for the usual 375→299 (×0.8) the two differ by
 * a few levels at sharp edges. JPEG shrink-on-load (decoding at 1/2, 1/4, 1/8 scale) is off, so
 * every pixel comes from a full decode. EXIF orientation is ignored (as TF's decode_jpeg and PIL
 * do); an embedded ICC profile is converted to sRGB, CMYK JPEGs too. Transparent images are
 * flattened onto `alphaBackground` (white by default) before resizing; greyscale images are
 * repeated into 3 channels, and colour images become luminance for a 1-channel model.
 *
 * Determinism: libvips computes every output pixel the same way whatever its thread count (checked:
 * identical bytes with 1, 2 and 4 threads); we pin it to one thread per image anyway
 * (`sharp.concurrency(1)`) and decode several images at once instead, and switch off its operation
 * cache so memory stays flat over 50,000 images. Same libvips version, same bytes: a sharp upgrade
 * may change the last bits (the package is pinned).
 */
import sharp from 'sharp';

sharp.concurrency(1);
sharp.cache(false);

export type Preset = 'slim' | 'keras' | 'crop';

export interface TargetShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

export type DecodeResult = { ok: true; pixels: Uint8Array } | { ok: false; reason: string };

/** tf.image.central_crop's integer arithmetic (0.875 → offsets of ⌊side/16⌋). */
export function centralCropRegion(width: number, height: number, fraction = 0.875): { left: number; top: number; width: number; height: number } {
  const offset = Math.floor(1 / ((1 - fraction) / 2));
  const top = Math.floor(height / offset);
  const left = Math.floor(width / offset);
  return { left, top, width: width - 2 * left, height: height - 2 * top };
}

/** A short, stable reason for a failed decode (libvips repeats some messages over several lines). */
function reasonOf(error: unknown): string {
  const message = String((error as Error)?.message ?? error).split('\n')[0]!.trim();
  if (/unsupported image format/i.test(message)) return 'not an image (unrecognised format; JPEG and PNG are read)';
  if (/Input file is missing/i.test(message)) return 'file not found';
  return `unreadable image: ${message}`;
}

export async function decodeImage(file: string, preset: Preset, target: TargetShape, alphaBackground: 'white' | 'black'): Promise<DecodeResult> {
  try {
    // failOn 'error': truncated and corrupt files are rejected (as TF's decode_jpeg and PIL reject
    // them), while files with mere warnings (e.g. extra bytes after the image) are read.
    const image = sharp(file, { failOn: 'error' });
    const meta = await image.metadata();
    if (meta.format !== 'jpeg' && meta.format !== 'png') {
      return { ok: false, reason: `unsupported format ${meta.format ?? 'unknown'} (JPEG and PNG are read)` };
    }
    if (!meta.width || !meta.height) return { ok: false, reason: 'image has no size' };
    if (preset === 'slim') image.extract(centralCropRegion(meta.width, meta.height));
    image.resize({
      width: target.width,
      height: target.height,
      fit: preset === 'crop' ? 'cover' : 'fill',
      position: 'centre',
      kernel: 'linear',
      fastShrinkOnLoad: false,
    });
    if (meta.hasAlpha) image.flatten({ background: alphaBackground === 'white' ? '#ffffff' : '#000000' });
    image.toColourspace(target.channels === 1 ? 'b-w' : 'srgb');
    const { data, info } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.width !== target.width || info.height !== target.height || info.channels !== target.channels) {
      return { ok: false, reason: `decoded to ${info.width}×${info.height}×${info.channels}, expected ${target.width}×${target.height}×${target.channels}` };
    }
    return { ok: true, pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (error) {
    return { ok: false, reason: reasonOf(error) };
  }
}

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
 *
 * Flawed files: every image is decoded with `failOn: 'warning'`. A file that fails is looked at
 * again alone (no other decode in flight: libvips keeps one error buffer for all its threads, so
 * under concurrency a message can come back mixed with another file's, cut, or as "Unknown
 * error"): decoded with `failOn: 'warning'` for the decoder's first message, then with
 * `failOn: 'error'`. If that succeeds the file had a mere warning (e.g. corrupt scan data that
 * libjpeg fills in, as PIL and Keras do): its pixels are returned with the warning; otherwise it is
 * rejected (truncated, damaged) with a category from its first bytes (flaws.ts). Same file, same
 * category and message, on every run.
 *
 * Each file is read once: its bytes are hashed (sha256, what the image index records, so a later
 * decode can tell that the file changed) and decoded from memory.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeFailure, decoderMessage, entryFlaw, openFlaw, signatureOf, warningCategory, type Flaw } from './flaws.ts';
import { SharedExclusiveLock } from './shared-exclusive-lock.ts';

sharp.concurrency(1);
sharp.cache(false);

export type Preset = 'slim' | 'keras' | 'crop';

export interface TargetShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

export interface Decoded {
  ok: true;
  pixels: Uint8Array;
  /** sha256 (hex) of the file's bytes. */
  sha256: string;
  /** The source image's own size, before crop and resize. */
  source: { width: number; height: number };
  warning?: { category: string; message: string };
}

export type DecodeResult = Decoded | ({ ok: false } & Flaw);

/** decodeWith's result before the file's hash is attached. */
type Pixels = Omit<Decoded, 'sha256'> | ({ ok: false } & Flaw);

/** Decodes share libvips; the look at a flawed file has it to itself. */
const libvips = new SharedExclusiveLock();

/** tf.image.central_crop's integer arithmetic (0.875 → offsets of ⌊side/16⌋). */
export function centralCropRegion(width: number, height: number, fraction = 0.875): { left: number; top: number; width: number; height: number } {
  const offset = Math.floor(1 / ((1 - fraction) / 2));
  const top = Math.floor(height / offset);
  const left = Math.floor(width / offset);
  return { left, top, width: width - 2 * left, height: height - 2 * top };
}

type FailOn = 'warning' | 'error';

/** Decodes one file's bytes; throws what sharp throws. */
async function decodeWith(bytes: Buffer, preset: Preset, target: TargetShape, alphaBackground: 'white' | 'black', failOn: FailOn): Promise<Pixels> {
  const image = sharp(bytes, { failOn });
  const meta = await image.metadata();
  if (meta.format !== 'jpeg' && meta.format !== 'png') {
    return { ok: false, category: 'unsupported-format', reason: `unsupported format ${meta.format ?? 'unknown'} (JPEG and PNG are read)` };
  }
  if (!meta.width || !meta.height) return { ok: false, category: 'unreadable', reason: 'image has no size' };
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
    const got = `${info.width}×${info.height}×${info.channels}`;
    return { ok: false, category: 'unreadable', reason: `decoded to ${got}, expected ${target.width}×${target.height}×${target.channels}` };
  }
  return { ok: true, pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), source: { width: meta.width, height: meta.height } };
}

/** The second, lone look at a file whose decode failed (see the top of this file). */
async function diagnose(file: string, bytes: Buffer, preset: Preset, target: TargetShape, alphaBackground: 'white' | 'black'): Promise<Pixels> {
  const signature = await signatureOf(file);
  let warning: string;
  try {
    return await decodeWith(bytes, preset, target, alphaBackground, 'warning');
  } catch (error) {
    warning = decoderMessage(error, signature);
  }
  try {
    const tolerant = await decodeWith(bytes, preset, target, alphaBackground, 'error');
    return tolerant.ok ? { ...tolerant, warning: { category: warningCategory(signature), message: warning } } : tolerant;
  } catch (error) {
    return { ok: false, ...decodeFailure(error, signature) };
  }
}

/**
 * One file → pixels at the target size, or why not (deterministically). A file the decoder warns
 * about comes back with its pixels and the warning: the caller decides whether to use it.
 */
export async function decodeImage(file: string, preset: Preset, target: TargetShape, alphaBackground: 'white' | 'black'): Promise<DecodeResult> {
  const read = await readBytes(file);
  if (!read.ok) return read;
  const { bytes } = read;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let result: Pixels;
  try {
    result = await libvips.shared(() => decodeWith(bytes, preset, target, alphaBackground, 'warning'));
  } catch {
    result = await libvips.exclusive(() => diagnose(file, bytes, preset, target, alphaBackground));
  }
  return result.ok ? { ...result, sha256 } : result;
}

/** The file's bytes, or why it cannot be read (a FIFO or device is never opened: reading it could hang). */
async function readBytes(file: string): Promise<{ ok: true; bytes: Buffer } | ({ ok: false } & Flaw)> {
  const unopenable = await openFlaw(file);
  if (unopenable) return { ok: false, ...unopenable };
  const info = await stat(file);
  if (!info.isFile() && !info.isDirectory()) return { ok: false, ...entryFlaw('other') };
  try {
    return { ok: true, bytes: await readFile(file) };
  } catch (error) {
    return { ok: false, ...entryFlaw('unreadable', (error as NodeJS.ErrnoException).code ?? (error as Error).message) };
  }
}

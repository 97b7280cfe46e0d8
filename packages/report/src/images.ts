/** Pixels → PNG (sharp, libvips' encoder; deterministic: no timestamps or text chunks). */
import sharp from 'sharp';
import { toBytes } from '@gradsign/core';

export { roundHalfEven, toBytes } from '@gradsign/core';

/**
 * The perturbation made visible: (x′ − x) / (2·scale) + ½, so grey is "unchanged", white +scale,
 * black −scale. `scale` is ε for L∞ attacks (comparable across images); for other norms the
 * image's own largest change.
 */
export function perturbationBytes(adversarial: Float32Array, clean: Uint8Array, scale?: number): Uint8Array {
  let s = scale ?? 0;
  if (!(s > 0)) for (let i = 0; i < adversarial.length; i++) s = Math.max(s, Math.abs(adversarial[i]! - clean[i]! / 255));
  const out = new Float32Array(adversarial.length);
  for (let i = 0; i < adversarial.length; i++) out[i] = s > 0 ? (adversarial[i]! - clean[i]! / 255) / (2 * s) + 0.5 : 0.5;
  return toBytes(out);
}

/** An image's height, width and channels (HWC). */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

export interface PngOptions {
  /** Nearest-neighbour upscaling factor (small images). */
  scale?: number;
  /** Downscale larger images to at most this many pixels on the long side. */
  maxSize?: number;
}

/** Encodes HWC 8-bit pixels (1 or 3 channels) as PNG. */
export async function encodePng(bytes: Uint8Array, height: number, width: number, channels: number, options: PngOptions = {}): Promise<Buffer> {
  let image = sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    raw: { width, height, channels: channels as 1 | 3 | 4 },
  });
  const scale = options.scale ?? 1;
  if (scale > 1) image = image.resize(width * scale, height * scale, { kernel: 'nearest' });
  else if (options.maxSize && Math.max(width, height) > options.maxSize) {
    image = image.resize(options.maxSize, options.maxSize, { fit: 'inside', kernel: 'lanczos3' });
  }
  // One channel stays grey (sharp would otherwise write RGB).
  if (channels === 1) image = image.toColourspace('b-w');
  return image.png({ compressionLevel: 9, adaptiveFiltering: false }).toBuffer();
}

/** Upscale factor that shows an image at about `target` px (small images only), and the long-side cap. */
export function displayOptions(height: number, width: number, target = 84): PngOptions {
  const side = Math.max(height, width);
  return side * 2 <= target ? { scale: Math.max(1, Math.round(target / side)) } : { maxSize: 128 };
}

export function pngDataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** The size a PNG will show at, from its header. */
export function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/**
 * The test split as the stages after preprocess see it, whatever preprocess wrote: Fashion-MNIST's
 * pixels (`test.arrow`, an ImagesArtifact), or an image folder's index (`index.arrow`), whose
 * files are decoded here, where they are used (images/indexed-images.ts loads sharp only then).
 * Either way: batches of uint8 HWC pixels in file order, any number of passes, never the whole
 * split in memory.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { readArtifact } from './arrow.ts';
import { ImagesArtifact } from './artifacts.ts';
import { GradsignError } from './errors.ts';

export const IMAGES_FILE = 'test.arrow';
export const INDEX_FILE = 'index.arrow';

export interface ImageBatch {
  id: Int32Array;
  label: Int32Array;
  /** [n·height·width·channels] uint8 HWC. */
  image: Uint8Array;
}

export interface PassOptions {
  /** Images per batch (the last may be smaller). */
  size: number;
  /** Leave an image out (an indexed one is then not even decoded). */
  keep?: (id: number) => boolean;
}

export interface TestImages {
  /** The artifact read. */
  readonly file: string;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classNames: string[];
  readonly dataset: string;
  readonly preset: string | undefined;
  /** Pixel values per image. */
  readonly pixels: number;
  /** How many images the split holds. */
  count(): Promise<number>;
  /** One pass over the split in file order; each call starts a new pass. */
  batches(options: PassOptions): AsyncGenerator<ImageBatch>;
}

type SplitFields = Pick<TestImages, 'file' | 'height' | 'width' | 'channels' | 'classNames' | 'dataset' | 'preset' | 'pixels'>;

/** What a TestImages says about its split, from an artifact's metadata. */
export function splitFields(file: string, m: { height: number; width: number; channels: number; classNames: string[]; dataset: string; preset?: string | undefined }): SplitFields {
  return { file, height: m.height, width: m.width, channels: m.channels, classNames: m.classNames, dataset: m.dataset, preset: m.preset, pixels: m.height * m.width * m.channels };
}

/** Regroups a stream of batches (any sizes, some rows left out) into batches of `size`. */
export async function* rebatch(
  source: AsyncIterable<ImageBatch>,
  pixels: number,
  { size, keep }: PassOptions,
): AsyncGenerator<ImageBatch> {
  let id: number[] = [];
  let label: number[] = [];
  let image = new Uint8Array(size * pixels);
  for await (const batch of source) {
    for (let i = 0; i < batch.id.length; i++) {
      if (keep && !keep(batch.id[i]!)) continue;
      image.set(batch.image.subarray(i * pixels, (i + 1) * pixels), id.length * pixels);
      id.push(batch.id[i]!);
      label.push(batch.label[i]!);
      if (id.length === size) {
        yield { id: Int32Array.from(id), label: Int32Array.from(label), image };
        // A fresh buffer: the consumer may still hold the one just yielded.
        [id, label, image] = [[], [], new Uint8Array(size * pixels)];
      }
    }
  }
  if (id.length) yield { id: Int32Array.from(id), label: Int32Array.from(label), image: image.subarray(0, id.length * pixels) };
}

/** Fashion-MNIST: the pixels are in the artifact. */
async function openImagesArtifact(file: string): Promise<TestImages> {
  const first = await readArtifact(ImagesArtifact, file);
  await first.close();
  const fields = splitFields(file, first.metadata);
  async function* stored(): AsyncGenerator<ImageBatch> {
    const reader = await readArtifact(ImagesArtifact, file);
    try {
      yield* reader.batches();
    } finally {
      await reader.close();
    }
  }
  return {
    ...fields,
    async count() {
      let n = 0;
      for await (const batch of stored()) n += batch.id.length;
      return n;
    },
    batches: (options) => rebatch(stored(), fields.pixels, options),
  };
}

const exists = (file: string) => access(file).then(() => true, () => false);

/** The test split in a preprocess output directory (its index when it has one, else its images), or undefined when it has neither. */
export async function findTestImages(dataDir: string): Promise<TestImages | undefined> {
  const index = path.join(dataDir, INDEX_FILE);
  if (await exists(index)) {
    const { openIndexedImages } = await import('./images/indexed-images.ts').catch((error: unknown) => {
      throw new GradsignError(`${index} lists image files to decode, and the sharp image library failed to load: ${(error as Error).message}`, {
        hint: 'reinstall the dependencies (npm ci) on this platform; sharp ships prebuilt binaries for Linux, macOS and Windows',
      });
    });
    return openIndexedImages(index);
  }
  const images = path.join(dataDir, IMAGES_FILE);
  return (await exists(images)) ? openImagesArtifact(images) : undefined;
}

/** As findTestImages, but neither file is an error saying to run preprocess. */
export async function openTestImages(dataDir: string): Promise<TestImages> {
  const found = await findTestImages(dataDir);
  if (found) return found;
  throw new GradsignError(`${dataDir} holds neither ${INDEX_FILE} (an image folder's index) nor ${IMAGES_FILE} (images)`, {
    hint: 'run the preprocess stage first (e.g. `npx nx run pipeline:<name>`), or point --data at its output directory',
  });
}

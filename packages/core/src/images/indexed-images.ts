/**
 * Decoding at use: an image folder's index (ImageIndexArtifact) → batches of model-input pixels,
 * decoded with the preset, size and background preprocess used (decode-image.ts), so they are the
 * bytes preprocess would have stored. Each file is checked against the sha256 preprocess recorded
 * before its pixels are used: a file changed, removed or made unreadable since is an error naming
 * it, never a silently different image. A few files decode at once, in index order.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { readArtifact } from '../arrow.ts';
import { ImageIndexArtifact } from '../artifacts.ts';
import { GradsignError } from '../errors.ts';
import { rebatch, splitFields, type ImageBatch, type TestImages } from '../test-images.ts';
import { decodeImage, type TargetShape } from './decode-image.ts';
import { mapInOrder } from './ordered-map.ts';

const RERUN = 'rerun the preprocess stage (`npx nx run pipeline:<name>`; add --skip-nx-cache if Nx serves it from its cache), or restore the file';

/** A file of the index, decoded and checked against its recorded sha256; throws naming the file. */
export async function decodeIndexed(
  dir: string,
  file: string,
  sha256: string,
  decode: { preset: 'slim' | 'keras' | 'crop'; alphaBackground: 'white' | 'black'; target: TargetShape },
): Promise<Uint8Array> {
  const full = path.join(dir, file);
  const result = await decodeImage(full, decode.preset, decode.target, decode.alphaBackground);
  if (!result.ok) {
    throw new GradsignError(`${full} was read by preprocess but cannot be decoded now (${result.category}: ${result.reason})`, { hint: RERUN });
  }
  if (result.sha256 !== sha256) {
    throw new GradsignError(
      `${full} changed after preprocessing: its sha256 is ${result.sha256.slice(0, 16)}…, the image index recorded ${sha256.slice(0, 16)}…`,
      { hint: RERUN },
    );
  }
  return result.pixels;
}

interface Row {
  id: number;
  label: number;
  file: string;
  sha256: string;
}

export async function openIndexedImages(indexFile: string): Promise<TestImages> {
  const first = await readArtifact(ImageIndexArtifact, indexFile);
  await first.close();
  const m = first.metadata;
  if (m.channels !== 1 && m.channels !== 3) throw new GradsignError(`${indexFile}: ${m.channels} channels; image folders decode to 1 or 3`);
  const isFolder = await stat(m.dir).then((s) => s.isDirectory(), () => false);
  if (!isFolder) {
    throw new GradsignError(`${indexFile} lists images under ${m.dir} (${path.resolve(m.dir)} from here), which is not a folder`, {
      hint: 'run the stages from the workspace root (relative dataset.dir paths are read from there), or rerun preprocess where the images are',
    });
  }
  const decode = { preset: m.preset, alphaBackground: m.alphaBackground, target: { height: m.height, width: m.width, channels: m.channels as 1 | 3 } };
  const pixels = m.height * m.width * m.channels;
  const concurrency = 2 * Math.max(1, availableParallelism());

  /** The index's rows, streamed, with those not kept left out. */
  async function* rows(keep?: (id: number) => boolean): AsyncGenerator<Row[]> {
    const reader = await readArtifact(ImageIndexArtifact, indexFile);
    try {
      for await (const batch of reader.batches()) {
        const out: Row[] = [];
        batch.id.forEach((id, i) => {
          if (!keep || keep(id)) out.push({ id, label: batch.label[i]!, file: batch.file[i]!, sha256: batch.sha256[i]! });
        });
        if (out.length) yield out;
      }
    } finally {
      await reader.close();
    }
  }

  async function* decoded(keep?: (id: number) => boolean): AsyncGenerator<ImageBatch> {
    for await (const part of rows(keep)) {
      // Errors are returned, not thrown, so a failure never leaves decodes running unobserved.
      const results = mapInOrder(part, (row) => decodeIndexed(m.dir, row.file, row.sha256, decode).then((image) => ({ image }), (error: unknown) => ({ error })), concurrency);
      let i = 0;
      for await (const result of results) {
        const row = part[i++]!;
        if ('error' in result) throw result.error;
        yield { id: Int32Array.of(row.id), label: Int32Array.of(row.label), image: result.image };
      }
    }
  }

  return {
    ...splitFields(indexFile, m),
    async count() {
      let n = 0;
      for await (const part of rows()) n += part.length;
      return n;
    },
    batches: ({ size, keep }) => rebatch(decoded(keep), pixels, { size }),
  };
}

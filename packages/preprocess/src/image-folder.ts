/**
 * preprocess for image folders: JPEG/PNG files + labels → `<out>/index.arrow` (ImageIndexArtifact:
 * per usable image its id, label, file relative to dataset.dir, sha256 of its bytes and source
 * size; no pixels), `<out>/sources.csv` (id → file, label) and three JSON arrays sorted by file,
 * always written (empty when nothing happened), byte-identical across runs:
 *
 * - `rejects.json`: `{file, category, reason}`, every file that could not be used (the run goes
 *   on without them); categories in core/src/images/flaws.ts;
 * - `warnings.json`: `{file, category, warning}`, every image used although the decoder warned
 *   (e.g. corrupt JPEG scan data); with `"decode": "strict"` these are rejects instead;
 * - `duplicates.json`: `{file, sameAs, kind}`, every path that reached an image or folder already
 *   read (symlinks, a link back up the tree): the image is used once, as `sameAs`.
 *
 * Every file is decoded here, at the model's input size with the preset, to know it is usable; its
 * pixels are then dropped. The stages that need pixels decode the files again from the index
 * (core's openTestImages), checking each file's sha256, so 50,000 images cost a few MB here and in
 * the Nx cache instead of 13 GB. Streams: files are decoded a few at a time, in a fixed order, and
 * the index is written in record batches of BATCH_SIZE rows. No train split is written: an
 * imported model is only evaluated.
 */
import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { GradsignError, INDEX_FILE, ImageIndexArtifact, Progress, log, writeArtifact, writeDirAtomic, writeFileAtomic } from '@gradsign/core';
import { decodeImage, type DecodeResult, type Decoded, type TargetShape } from '@gradsign/core/images';
import { bySourceFile, type DecodeWarning, type Duplicate, type Reject } from '@gradsign/core/images';
import { listImageSources, type ImageFolderConfig, type ImageSource } from './image-sources.ts';
import { mapInOrder } from '@gradsign/core/images';

export type { ImageFolderConfig } from './image-sources.ts';
export { centralCropRegion, decodeImage } from '@gradsign/core/images';

export const BATCH_SIZE = 1024;

export interface ImageFolderSummary {
  images: number;
  rejects: Reject[];
  warnings: DecodeWarning[];
  duplicates: Duplicate[];
  classes: number;
  preset: string;
}

function targetShape(input: { height: number; width: number; channels: number } | undefined): TargetShape {
  if (!input) {
    throw new GradsignError('an image folder needs the model\'s input size, and the preprocess config has no "input"', {
      hint: 'use "model": {"kind": "tfjs", "spec": {"height": …, "width": …, "channels": …}}: its spec sets the size images are resized to',
    });
  }
  if (input.channels !== 1 && input.channels !== 3) {
    throw new GradsignError(`input.channels is ${input.channels}; image folders are converted to 1 (grey) or 3 (RGB) channels`, {
      hint: 'set model.spec.channels to 1 or 3',
    });
  }
  if (input.height < 1 || input.width < 1) throw new GradsignError(`input size ${input.height}×${input.width} is not positive`);
  return { height: input.height, width: input.width, channels: input.channels };
}

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/**
 * The decoded image if it is to be used, or undefined with the file recorded: a failed decode is a
 * reject; a decoder warning is a warning (tolerant), or a reject (strict).
 */
function usable(source: ImageSource, result: DecodeResult, decode: ImageFolderConfig['decode'], notes: { rejects: Reject[]; warnings: DecodeWarning[] }): Decoded | undefined {
  if (!result.ok) {
    notes.rejects.push({ file: source.file, category: result.category, reason: result.reason });
    return undefined;
  }
  if (!result.warning) return result;
  const { category, message } = result.warning;
  if (decode === 'strict') {
    notes.rejects.push({ file: source.file, category, reason: `${message} (rejected: "decode": "strict")` });
    return undefined;
  }
  notes.warnings.push({ file: source.file, category, warning: message });
  return result;
}

const jsonLines = (items: object[]) => JSON.stringify(items, null, 2) + '\n';

export async function preprocessImageFolder(
  dataset: ImageFolderConfig,
  input: { height: number; width: number; channels: number } | undefined,
  outDir: string,
): Promise<ImageFolderSummary> {
  const target = targetShape(input);
  const { sources, classes, rejects, duplicates } = await listImageSources(dataset);
  const warnings: DecodeWarning[] = [];
  if (!sources.length) {
    throw new GradsignError(`no images found in ${dataset.dir}`, { hint: 'check dataset.dir, dataset.layout and dataset.groundTruth' });
  }
  if (classes.length < 2) {
    throw new GradsignError(`${dataset.dir} has images of ${classes.length} class only; a classifier has at least 2`, {
      hint: "set dataset.labels (or model.labels) to the model's class list",
    });
  }
  const limit = Math.min(dataset.limit ?? sources.length, sources.length);
  const meta = {
    dataset: `image-folder:${path.basename(path.resolve(dataset.dir))}`,
    split: 'test',
    ...target,
    classNames: classes.map((c) => c.name),
    preset: dataset.preset,
    alphaBackground: dataset.alphaBackground,
    dir: dataset.dir,
  };
  // Each libvips call runs on one thread; two images in flight per core hide the gaps between a
  // decode's steps (`npm run bench -- scale` reports the preprocessing rate).
  const concurrency = 2 * Math.max(1, availableParallelism());
  const progress = new Progress(`preprocess ${dataset.preset} ${target.width}×${target.height}`, limit, 'img');
  let written = 0;

  await writeDirAtomic(outDir, async (tmp) => {
    const writer = await writeArtifact(ImageIndexArtifact, path.join(tmp, INDEX_FILE), meta);
    const sourcesCsv = createWriteStream(path.join(tmp, 'sources.csv'));
    sourcesCsv.write('id,file,label\n');
    try {
      const rows = { id: [] as number[], label: [] as number[], file: [] as string[], sha256: [] as string[], sourceWidth: [] as number[], sourceHeight: [] as number[] };
      let lines = '';
      const flush = async () => {
        if (!rows.id.length) return;
        await writer.write({
          id: Int32Array.from(rows.id),
          label: Int32Array.from(rows.label),
          file: rows.file,
          sha256: rows.sha256,
          sourceWidth: Int32Array.from(rows.sourceWidth),
          sourceHeight: Int32Array.from(rows.sourceHeight),
        });
        if (!sourcesCsv.write(lines)) await new Promise<void>((resolve) => sourcesCsv.once('drain', () => resolve()));
        for (const column of Object.values(rows)) column.length = 0;
        lines = '';
      };
      const decoded = mapInOrder(
        sources,
        async (source, id) => ({ source, id, result: await decodeImage(path.join(dataset.dir, source.file), dataset.preset, target, dataset.alphaBackground) }),
        concurrency,
      );
      for await (const { source, id, result } of decoded) {
        progress.tick();
        const image = usable(source, result, dataset.decode, { rejects, warnings });
        if (!image) continue;
        rows.id.push(id);
        rows.label.push(source.label);
        rows.file.push(source.file);
        rows.sha256.push(image.sha256);
        rows.sourceWidth.push(image.source.width);
        rows.sourceHeight.push(image.source.height);
        lines += `${id},${csvField(source.file)},${source.label}\n`;
        written++;
        if (rows.id.length === BATCH_SIZE) await flush();
        if (written === limit) break;
      }
      await flush();
      progress.finish();
      if (!written) {
        throw new GradsignError(`none of the ${sources.length} files in ${dataset.dir} could be read as an image`, {
          hint: `first rejects: ${rejects.slice(0, 3).map((r) => `${r.file}: ${r.reason}`).join('; ')}`,
        });
      }
      await writer.close();
      sourcesCsv.end();
      await finished(sourcesCsv);
    } catch (error) {
      await writer.abort();
      sourcesCsv.destroy();
      throw error;
    }
    await writeFileAtomic(path.join(tmp, 'rejects.json'), jsonLines(rejects.sort(bySourceFile)));
    await writeFileAtomic(path.join(tmp, 'warnings.json'), jsonLines(warnings.sort(bySourceFile)));
    await writeFileAtomic(path.join(tmp, 'duplicates.json'), jsonLines(duplicates.sort(bySourceFile)));
  });

  log(
    `preprocess: ${written} images from ${dataset.dir} (${dataset.layout}, preset ${dataset.preset}, ${target.width}×${target.height}×${target.channels}, ` +
      `${classes.length} classes) → ${outDir}/${INDEX_FILE} (decoded again where used)` +
      (rejects.length ? `; ${rejects.length} file(s) rejected, see ${outDir}/rejects.json (e.g. ${rejects[0]!.file}: ${rejects[0]!.reason})` : ''),
  );
  if (warnings.length) {
    log(
      `preprocess: ${warnings.length} image(s) used although the decoder warned (e.g. ${warnings[0]!.file}: ${warnings[0]!.warning}), see ${outDir}/warnings.json; ` +
        'set "decode": "strict" in the dataset to reject them instead',
    );
  }
  if (duplicates.length) log(`preprocess: ${duplicates.length} path(s) reached an image or folder already read (symlinks) and were not used again, see ${outDir}/duplicates.json`);
  return { images: written, rejects, warnings, duplicates, classes: classes.length, preset: dataset.preset };
}

/**
 * Which files of an image folder to read, with which label, in which (deterministic) order — the
 * bookkeeping half of image-folder preprocessing; decoding is in @gradsign/core/images.
 *
 * Order: `flat` sorts file names (byte order, not locale); `class-folders` takes the first file of
 * every class, then the second of every class, …, so `limit` gives a class-balanced subset.
 * Folders are read by folder-walk.ts: symlinks followed, each image once, unusable entries recorded.
 */
import path from 'node:path';
import type { z } from 'zod';
import { ClassIndex, GradsignError, SYNSET_ID, log, readLabelFile, type ClassLabel, type ImageFolderDataset } from '@gradsign/core';
import type { Duplicate, Reject } from '@gradsign/core/images';
import { FolderWalk, byteOrder } from './folder-walk.ts';
import { readCsvGroundTruth, readIlsvrcGroundTruth, readSynsetMap } from './ground-truth.ts';

export type ImageFolderConfig = z.infer<typeof ImageFolderDataset>;

export interface ImageSource {
  /** Path relative to dataset.dir, with '/' separators. */
  file: string;
  label: number;
}

export interface SourceList {
  sources: ImageSource[];
  classes: ClassLabel[];
  /** Files turned away before decoding (e.g. outside any class folder, a broken symlink). */
  rejects: Reject[];
  /** Paths that reached an image or folder already listed (not used again). */
  duplicates: Duplicate[];
}

function examples(items: string[], max = 5): string {
  return items.slice(0, max).map((s) => `"${s}"`).join(', ') + (items.length > max ? `, … (${items.length} in all)` : '');
}

/** The ground-truth, synset-map and label files, when they sit inside the image folder. */
function isConfigFile(dataset: ImageFolderConfig): (rel: string) => boolean {
  const own = new Set([dataset.groundTruth, dataset.synsetMap, dataset.labels].filter((f): f is string => !!f).map((f) => path.resolve(f)));
  return (rel) => own.has(path.resolve(dataset.dir, rel));
}

async function labelsOrUndefined(dataset: ImageFolderConfig): Promise<ClassIndex | undefined> {
  return dataset.labels ? new ClassIndex(await readLabelFile(dataset.labels, 'dataset.labels')) : undefined;
}

/** class-folders: one sub-folder per class, named by synset id or class name. */
async function classFolderSources(dataset: ImageFolderConfig): Promise<SourceList> {
  const own = isConfigFile(dataset);
  const walk = await new FolderWalk(dataset.dir).start();
  const folders: string[] = [];
  const outside: Reject[] = [];
  for (const entry of (await walk.list('')).filter((e) => !own(e.name))) {
    if (entry.kind === 'file') outside.push({ file: entry.name, category: 'outside-class-folder', reason: 'not inside a class folder: move it into the folder of its class' });
    else if (walk.claim(entry.name, entry)) folders.push(entry.name);
  }
  if (!folders.length) {
    throw new GradsignError(`dataset.dir ${dataset.dir} has no class folders`, {
      hint: 'the class-folders layout wants one sub-folder per class; for a folder of images plus a ground-truth file use "layout": "flat"',
    });
  }
  // Without a label file the classes are the folder names, sorted (as Keras' image_dataset_from_directory does).
  const index =
    (await labelsOrUndefined(dataset)) ?? new ClassIndex(folders.map((name) => (SYNSET_ID.test(name) ? { name, synset: name } : { name })));
  const unknown = folders.filter((f) => index.find(f, `dataset.dir ${dataset.dir}/${f}`) === undefined);
  if (unknown.length) {
    throw new GradsignError(
      `${unknown.length} class folder(s) in ${dataset.dir} are not in the label file ${dataset.labels}: ${examples(unknown)}`,
      { hint: 'name each class folder by a synset id or class name from the label file (one class a line, in the model\'s output order)' },
    );
  }
  // One class after the other: which of two paths to one image counts depends on the order.
  const perClass: ImageSource[][] = [];
  for (const folder of folders) {
    const label = index.find(folder, folder)!;
    perClass.push((await walk.filesUnder(folder)).map((file) => ({ file, label })));
  }
  const sources: ImageSource[] = [];
  const longest = Math.max(...perClass.map((files) => files.length));
  for (let rank = 0; rank < longest; rank++) for (const files of perClass) if (rank < files.length) sources.push(files[rank]!);
  return { sources, classes: [...index.labels], rejects: [...outside, ...walk.rejects], duplicates: walk.duplicates };
}

/** flat + CSV: rows `file,label`; a label is a 0-based class index, a synset id or a class name. */
async function csvSources(dataset: ImageFolderConfig): Promise<SourceList> {
  const rows = await readCsvGroundTruth(dataset.groundTruth!);
  let index = await labelsOrUndefined(dataset);
  if (!index) {
    if (rows.some((r) => /^\d+$/.test(r.label))) {
      throw new GradsignError(`${dataset.groundTruth} gives class indices, but no label file names the classes`, {
        hint: 'set dataset.labels (or model.labels) to the class list in the model\'s output order',
      });
    }
    index = new ClassIndex([...new Set(rows.map((r) => r.label))].sort(byteOrder).map((name) => ({ name })));
  }
  const unknown: string[] = [];
  const seen = new Map<string, number>();
  const sources: ImageSource[] = [];
  for (const row of rows) {
    const where = `${dataset.groundTruth}:${row.line}`;
    const label = /^\d+$/.test(row.label) ? Number(row.label) : index.find(row.label, where);
    if (label === undefined || label >= index.size) {
      unknown.push(`${row.label}`);
      continue;
    }
    const file = row.file.replaceAll('\\', '/').replace(/^\.\//, '');
    if (seen.has(file)) {
      throw new GradsignError(`${where}: ${file} is listed twice (first on line ${seen.get(file)})`, { hint: 'list each image once' });
    }
    seen.set(file, row.line);
    sources.push({ file, label });
  }
  if (unknown.length) {
    throw new GradsignError(`${unknown.length} label(s) in ${dataset.groundTruth} are not classes of the label file: ${examples([...new Set(unknown)])}`, {
      hint: 'use class names or synset ids from the label file, or 0-based indices below the number of classes',
    });
  }
  sources.sort((a, b) => byteOrder(a.file, b.file));
  const listed = new Set(sources.map((s) => s.file));
  const own = isConfigFile(dataset);
  const walk = await new FolderWalk(dataset.dir).start();
  const unlisted = (await walk.filesUnder('')).filter((f) => !listed.has(f) && !own(f));
  if (unlisted.length) log(`preprocess: ${unlisted.length} file(s) in ${dataset.dir} have no ground-truth row and are skipped (e.g. ${examples(unlisted, 3)})`);
  // The ground truth names the files: a row's broken link is a reject when it is decoded.
  return { sources, classes: [...index.labels], rejects: [], duplicates: [] };
}

const ILSVRC_VAL_NAME = /^ILSVRC2012_val_(\d{8})\.[A-Za-z]+$/;

/**
 * flat + ILSVRC2012: validation images `ILSVRC2012_val_00000001.JPEG` …; line n of the ground
 * truth belongs to image n. ILSVRC2012_IDs go through the synset map to synset ids, and the
 * synset ids through the label file to the model's output order.
 */
async function ilsvrcSources(dataset: ImageFolderConfig): Promise<SourceList> {
  const ids = await readIlsvrcGroundTruth(dataset.groundTruth!);
  const synsets = await readSynsetMap(dataset.synsetMap!);
  let index = await labelsOrUndefined(dataset);
  if (!index) {
    // Keras and TF-slim order their 1000 outputs by sorted synset id.
    log('preprocess: no label file; assuming the model orders its classes by sorted synset id (as Keras and TF-slim do)');
    index = new ClassIndex(synsets.slice(0, 1000).sort(byteOrder).map((synset) => ({ synset, name: synset })));
  }
  if (!index.hasSynsets) {
    throw new GradsignError(`the label file ${dataset.labels} has no synset ids, so ILSVRC2012 labels cannot be mapped onto it`, {
      hint: 'start each line of the label file with the synset id ("n01440764 tench"), or use Keras\' imagenet_class_index.json',
    });
  }
  const labelOf = new Int32Array(1001).fill(-1);
  const missing: string[] = [];
  for (let id = 1; id <= 1000; id++) {
    const label = index.find(synsets[id - 1]!, dataset.synsetMap!);
    if (label === undefined) missing.push(synsets[id - 1]!);
    else labelOf[id] = label;
  }
  if (missing.length) {
    throw new GradsignError(`${missing.length} synset id(s) of ${dataset.synsetMap} are not in the label file ${dataset.labels}: ${examples(missing)}`, {
      hint: 'the label file must list the model\'s 1000 ImageNet classes with their synset ids',
    });
  }

  const own = isConfigFile(dataset);
  const walk = new FolderWalk(dataset.dir);
  const files = (await walk.list('')).filter((e) => e.kind === 'file' && !own(e.name)).map((e) => e.name);
  const named = files.some((f) => ILSVRC_VAL_NAME.test(f));
  const rejects: Reject[] = walk.rejects;
  const sources: ImageSource[] = [];
  if (named) {
    for (const file of files) {
      const n = ILSVRC_VAL_NAME.exec(file);
      if (!n) rejects.push({ file, category: 'not-a-validation-name', reason: 'not an ILSVRC2012 validation file name (ILSVRC2012_val_NNNNNNNN.JPEG)' });
      else if (Number(n[1]) < 1 || Number(n[1]) > ids.length) {
        rejects.push({ file, category: 'no-ground-truth-line', reason: `no line ${Number(n[1])} in the ground truth (${ids.length} lines)` });
      }
      else sources.push({ file, label: labelOf[ids[Number(n[1]) - 1]!]! });
    }
  } else {
    if (files.length !== ids.length) {
      throw new GradsignError(`${dataset.dir} holds ${files.length} files but ${dataset.groundTruth} has ${ids.length} lines`, {
        hint: 'ILSVRC2012 ground truth maps line n to the n-th file in sorted order: the folder must hold exactly the validation images (or keep their ILSVRC2012_val_NNNNNNNN names)',
      });
    }
    files.forEach((file, i) => sources.push({ file, label: labelOf[ids[i]!]! }));
  }
  return { sources, classes: [...index.labels], rejects, duplicates: [] };
}

export async function listImageSources(dataset: ImageFolderConfig): Promise<SourceList> {
  if (dataset.layout === 'class-folders') return classFolderSources(dataset);
  if (!dataset.groundTruth) {
    throw new GradsignError('dataset.groundTruth is required for the flat layout', {
      hint: 'give a CSV "file,label" or, with "groundTruthFormat": "ilsvrc2012", ILSVRC2012_validation_ground_truth.txt',
    });
  }
  if (dataset.groundTruthFormat === 'csv') return csvSources(dataset);
  if (!dataset.synsetMap) {
    throw new GradsignError('dataset.synsetMap is required with "groundTruthFormat": "ilsvrc2012"', {
      hint: 'write the synset ids in ILSVRC2012_ID order, one a line (docs/bring-your-own-model.md shows how)',
    });
  }
  return ilsvrcSources(dataset);
}

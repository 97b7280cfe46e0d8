/**
 * Image-folder preprocessing over generated fixtures (test/fixtures/imagenet-like.ts): both layouts,
 * ILSVRC2012 ground truth through a synset map, odd files, presets, determinism. Preprocess writes
 * an index; the pixels checked here are decoded from it, as the later stages decode them.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GradsignError, ImageIndexArtifact, openTestImages, readArtifact } from '@gradsign/core';
import { preprocess } from '../src/index.ts';
import { centralCropRegion, decodeImage } from '../src/image-folder.ts';
import {
  FIXTURE_CLASSES,
  GREY_CLASS,
  centreOf,
  labelFileText,
  makeClassFolders,
  makeCsvFolder,
  makeIlsvrcFolder,
  synsetOf,
  writePng,
  type CsvFixture,
  type FolderFixture,
  type IlsvrcFixture,
} from '../../../test/fixtures/imagenet-like.ts';

const INPUT = { height: 32, width: 32, channels: 3 };
let root: string;
let classFolders: FolderFixture;
let ilsvrc: IlsvrcFixture;
let csv: CsvFixture;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'gradsign-image-folder-'));
  classFolders = await makeClassFolders(root);
  ilsvrc = await makeIlsvrcFolder(root);
  csv = await makeCsvFolder(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Output {
  ids: number[];
  labels: number[];
  images: Uint8Array[];
  /** id → source file, from sources.csv. */
  files: Map<number, string>;
  rejects: { file: string; category: string; reason: string }[];
  warnings: { file: string; category: string; warning: string }[];
  metadata: Awaited<ReturnType<typeof readArtifact<typeof ImageIndexArtifact.columns, typeof ImageIndexArtifact.metadata>>>['metadata'];
  /** sha256 of index.arrow. */
  sha256: string;
}

async function run(dataset: Record<string, unknown>, name: string, input = INPUT): Promise<Output> {
  const out = path.join(root, 'out', name);
  await preprocess({ dataset: { kind: 'image-folder', ...dataset }, input }, out);
  const reader = await readArtifact(ImageIndexArtifact, path.join(out, 'index.arrow'));
  await reader.close();
  const ids: number[] = [];
  const labels: number[] = [];
  const images: Uint8Array[] = [];
  const split = await openTestImages(out);
  for await (const batch of split.batches({ size: 7 })) {
    batch.id.forEach((id, i) => {
      ids.push(id);
      labels.push(batch.label[i]!);
      images.push(batch.image.slice(i * split.pixels, (i + 1) * split.pixels));
    });
  }
  const csvLines = (await readFile(path.join(out, 'sources.csv'), 'utf8')).trim().split('\n').slice(1);
  return {
    ids,
    labels,
    images,
    files: new Map(csvLines.map((l) => [Number(l.split(',')[0]), l.split(',').slice(1, -1).join(',')])),
    rejects: JSON.parse(await readFile(path.join(out, 'rejects.json'), 'utf8')),
    warnings: JSON.parse(await readFile(path.join(out, 'warnings.json'), 'utf8')),
    metadata: reader.metadata,
    sha256: createHash('sha256').update(await readFile(path.join(out, 'index.arrow'))).digest('hex'),
  };
}

function meanColour(image: Uint8Array): number[] {
  const sum = [0, 0, 0];
  for (let i = 0; i < image.length; i++) sum[i % 3]! += image[i]!;
  return sum.map((s) => s / (image.length / 3) / 255);
}

function expectLabelsMatch(out: Output, expected: Map<string, number>) {
  const got = new Map(out.ids.map((id, i) => [out.files.get(id)!, out.labels[i]!]));
  expect(got).toEqual(expected);
}

async function expectGradsignError(promise: Promise<unknown>, pattern: RegExp): Promise<GradsignError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(GradsignError);
  expect((error as GradsignError).message).toMatch(pattern);
  return error as GradsignError;
}

describe('class-folders layout', () => {
  it('maps folders (synset ids or class names) to the label file order, records rejects, keeps odd images', async () => {
    const out = await run({ dir: classFolders.dir, labels: classFolders.labels, preset: 'keras' }, 'folders');
    expectLabelsMatch(out, classFolders.expected);
    expect(out.metadata).toMatchObject({ split: 'test', height: 32, width: 32, channels: 3, preset: 'keras' });
    expect(out.metadata.classNames).toHaveLength(1000);
    expect(out.images.every((im) => im.length === 32 * 32 * 3)).toBe(true);

    expect(out.rejects.map((r) => r.file).sort()).toEqual(classFolders.rejects.slice().sort());
    const reject = Object.fromEntries(out.rejects.map((r) => [path.basename(r.file), r]));
    expect(reject['corrupt.jpg']).toMatchObject({ category: 'corrupt-jpeg', reason: 'VipsJpeg: premature end of JPEG image' });
    expect(reject['notes.txt']).toMatchObject({ category: 'not-an-image', reason: expect.stringMatching(/not an image/) });
    expect(out.warnings).toEqual([]); // CMYK, alpha, greyscale: no decoder warnings

    // Every ordinary image keeps its class colour through decode and resize (so labels and pixels line up).
    for (const [i, id] of out.ids.entries()) {
      const file = out.files.get(id)!;
      if (/cmyk|alpha|grey/.test(file)) continue;
      const mean = meanColour(out.images[i]!);
      centreOf(out.labels[i]!).forEach((c, ch) => expect(Math.abs(mean[ch]! - c)).toBeLessThan(0.04));
    }
    // The greyscale PNG became 3 equal channels.
    const grey = out.images[out.ids.findIndex((id) => out.files.get(id)!.endsWith('grey.png'))]!;
    expect(grey[0]).toBe(grey[1]);
    expect(grey[1]).toBe(grey[2]);
    // The CMYK JPEG came back close to its RGB colour.
    const cmyk = out.images[out.ids.findIndex((id) => out.files.get(id)!.endsWith('cmyk.jpg'))]!;
    centreOf(FIXTURE_CLASSES[0]!).forEach((c, ch) => expect(Math.abs(meanColour(cmyk)[ch]! - c)).toBeLessThan(0.12));
  });

  it('is byte-for-byte deterministic', async () => {
    const a = await run({ dir: classFolders.dir, labels: classFolders.labels, preset: 'slim' }, 'det-a');
    const b = await run({ dir: classFolders.dir, labels: classFolders.labels, preset: 'slim' }, 'det-b');
    expect(a.sha256).toBe(b.sha256);
    expect(a.images.length).toBe(classFolders.expected.size);
  });

  it('limit takes a class-balanced prefix (one image of each class first)', async () => {
    const out = await run({ dir: classFolders.dir, labels: classFolders.labels, limit: 5 }, 'limit');
    expect(out.ids).toHaveLength(5);
    expect(new Set(out.labels).size).toBe(5);
  });

  it('without a label file, the sorted folder names are the classes', async () => {
    const out = await run({ dir: classFolders.dir }, 'no-labels');
    expect(out.metadata.classNames).toEqual([...new Set([...classFolders.expected.keys()].map((f) => f.split('/')[0]!))].sort());
  });

  it('a folder missing from the label file is an error that lists it', async () => {
    const labels = path.join(root, 'short-labels.txt');
    await writeFile(labels, labelFileText(300));
    const error = await expectGradsignError(
      run({ dir: classFolders.dir, labels }, 'bad-folders'),
      new RegExp(`class folder\\(s\\) .* not in the label file .*"${synsetOf(345)}"`),
    );
    expect(error.hint).toMatch(/synset id or class name/);
  });

  it('converts to 1 channel for a greyscale model', async () => {
    const out = await run({ dir: classFolders.dir, labels: classFolders.labels }, 'grey', { height: 16, width: 16, channels: 1 });
    expect(out.metadata.channels).toBe(1);
    expect(out.images.every((im) => im.length === 16 * 16)).toBe(true);
    const grey = out.images[out.ids.findIndex((id) => out.files.get(id)!.endsWith('grey.png'))]!;
    const level = grey.reduce((s, v) => s + v, 0) / grey.length / 255;
    expect(Math.abs(level - centreOf(GREY_CLASS)[0])).toBeLessThan(0.03);
  });
});

describe('flat layout', () => {
  it('maps ILSVRC2012 ground truth through the synset map to the label order', async () => {
    const out = await run(
      { dir: ilsvrc.dir, layout: 'flat', groundTruth: ilsvrc.groundTruth, groundTruthFormat: 'ilsvrc2012', synsetMap: ilsvrc.synsetMap, labels: ilsvrc.labels, preset: 'slim' },
      'ilsvrc',
    );
    expectLabelsMatch(out, ilsvrc.expected);
    expect(out.rejects.map((r) => r.file).sort()).toEqual(ilsvrc.rejects.slice().sort());
    // The ids are the validation numbers minus one.
    expect(out.ids.map((id) => out.files.get(id))).toEqual(out.ids.map((id) => `ILSVRC2012_val_${String(id + 1).padStart(8, '0')}.JPEG`));
    // Labels agree with the pixels: each image has its class colour.
    out.images.forEach((im, i) => centreOf(out.labels[i]!).forEach((c, ch) => expect(Math.abs(meanColour(im)[ch]! - c)).toBeLessThan(0.04)));
  });

  it('ILSVRC2012 without a label file assumes sorted synset order', async () => {
    const out = await run(
      { dir: ilsvrc.dir, layout: 'flat', groundTruth: ilsvrc.groundTruth, groundTruthFormat: 'ilsvrc2012', synsetMap: ilsvrc.synsetMap },
      'ilsvrc-sorted',
    );
    expectLabelsMatch(out, ilsvrc.expected); // the fixture's synsets ascend with the class index
  });

  it('ILSVRC2012 ground truth needs synset ids in the label file', async () => {
    const names = path.join(root, 'names-only.txt');
    await writeFile(names, Array.from({ length: 1000 }, (_, k) => `colour ${k}\n`).join(''));
    await expectGradsignError(
      run({ dir: ilsvrc.dir, layout: 'flat', groundTruth: ilsvrc.groundTruth, groundTruthFormat: 'ilsvrc2012', synsetMap: ilsvrc.synsetMap, labels: names }, 'ilsvrc-names'),
      /has no synset ids/,
    );
  });

  it('reads a CSV of file,label with synset ids, names and indices; a missing file is a reject', async () => {
    const out = await run({ dir: csv.dir, layout: 'flat', groundTruth: csv.groundTruth, labels: csv.labels, preset: 'crop' }, 'csv');
    expectLabelsMatch(out, csv.expected);
    expect(out.rejects).toEqual([{ file: 'missing.jpg', category: 'missing', reason: 'file not found: fix the ground-truth row or add the file' }]);
  });

  it('an unknown CSV label is an error naming it', async () => {
    const gt = path.join(root, 'bad.csv');
    await writeFile(gt, 'photo_0.jpg,n99999999\nphoto_1.jpg,no such class\n');
    await expectGradsignError(run({ dir: csv.dir, layout: 'flat', groundTruth: gt, labels: csv.labels }, 'csv-bad'), /"n99999999", "no such class"/);
  });

  it('the flat layout needs a ground-truth file', async () => {
    await expectGradsignError(run({ dir: csv.dir, layout: 'flat' }, 'no-gt'), /dataset.groundTruth is required/);
  });
});

describe('presets', () => {
  const target = { height: 32, width: 32, channels: 3 as const };
  const px = (im: Uint8Array, x: number, y: number) => Array.from(im.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3));

  it('central crop matches tf.image.central_crop(0.875)', () => {
    expect(centralCropRegion(500, 375)).toEqual({ left: 31, top: 23, width: 438, height: 329 });
    expect(centralCropRegion(64, 64)).toEqual({ left: 4, top: 4, width: 56, height: 56 });
  });

  it('slim crops a 1/16 border away, keras keeps it, crop cuts the long side', async () => {
    // 64×64 red with a 4-pixel blue border: exactly what slim's 87.5% crop removes.
    const bordered = Buffer.alloc(64 * 64 * 3);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
      const border = x < 4 || y < 4 || x >= 60 || y >= 60;
      bordered.set(border ? [0, 0, 255] : [255, 0, 0], (y * 64 + x) * 3);
    }
    const file = path.join(root, 'bordered.png');
    await writePng(file, { data: bordered, width: 64, height: 64, channels: 3 });
    const slim = await decodeImage(file, 'slim', target, 'white');
    const keras = await decodeImage(file, 'keras', target, 'white');
    if (!slim.ok || !keras.ok) throw new Error('decode failed');
    for (const [x, y] of [[0, 0], [31, 0], [0, 16], [31, 31]] as const) expect(px(slim.pixels, x, y)).toEqual([255, 0, 0]);
    expect(px(keras.pixels, 0, 16)[2]).toBeGreaterThan(100); // blue survives at the edge
    expect(px(keras.pixels, 16, 16)).toEqual([255, 0, 0]);

    // 96×64: a 64×64 red middle between 16-pixel green bands; "crop" keeps only the middle.
    const wide = Buffer.alloc(96 * 64 * 3);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 96; x++) wide.set(x < 16 || x >= 80 ? [0, 255, 0] : [255, 0, 0], (y * 96 + x) * 3);
    const wideFile = path.join(root, 'wide.png');
    await writePng(wideFile, { data: wide, width: 96, height: 64, channels: 3 });
    const crop = await decodeImage(wideFile, 'crop', target, 'white');
    const squeezed = await decodeImage(wideFile, 'keras', target, 'white');
    if (!crop.ok || !squeezed.ok) throw new Error('decode failed');
    expect(px(crop.pixels, 0, 16)[1]).toBeLessThan(60);
    expect(px(crop.pixels, 0, 16)[0]).toBeGreaterThan(200);
    expect(px(squeezed.pixels, 0, 16)[1]).toBeGreaterThan(200);
  });

  it('flattens transparency onto the chosen background', async () => {
    const file = path.join(classFolders.dir, synsetOf(FIXTURE_CLASSES[0]!), 'alpha.png');
    const white = await decodeImage(file, 'keras', target, 'white');
    const black = await decodeImage(file, 'keras', target, 'black');
    if (!white.ok || !black.ok) throw new Error('decode failed');
    expect(px(white.pixels, 1, 1)).toEqual([255, 255, 255]);
    expect(px(black.pixels, 1, 1)).toEqual([0, 0, 0]);
    expect(px(white.pixels, 20, 20)).toEqual(px(black.pixels, 20, 20));
  });

  it('rejects formats other than JPEG and PNG with the reason', async () => {
    const file = path.join(root, 'image.webp');
    await writeFile(file, await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).webp().toBuffer());
    expect(await decodeImage(file, 'keras', target, 'white')).toEqual({
      ok: false,
      category: 'unsupported-format',
      reason: 'unsupported format webp (JPEG and PNG are read)',
    });
  });
});

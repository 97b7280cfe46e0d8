/**
 * The image index: what preprocess records per image folder file, and decoding at use (core's
 * openTestImages): the same pixels preprocess used to store, and a file changed since is an error
 * naming it.
 */
import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GradsignError, ImageIndexArtifact, openTestImages, readArtifact } from '@gradsign/core';
import { decodeImage } from '@gradsign/core/images';
import { preprocess } from '../src/index.ts';
import { makeClassFolders, writeCorruptScanJpeg, type FolderFixture } from '../../../test/fixtures/imagenet-like.ts';

let root: string;
let folders: FolderFixture;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'gradsign-image-index-'));
  folders = await makeClassFolders(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Input = { height: number; width: number; channels: 1 | 3 };

async function indexOf(dir: string, name: string, input: Input, dataset: Record<string, unknown> = {}) {
  const out = path.join(root, 'out', name);
  await preprocess({ dataset: { kind: 'image-folder', dir, labels: folders.labels, ...dataset }, input }, out);
  const reader = await readArtifact(ImageIndexArtifact, path.join(out, 'index.arrow'));
  const rows = await reader.readAll();
  await reader.close();
  return { out, rows, metadata: reader.metadata };
}

/** Every image of the split decoded at use, concatenated in index order, and its ids. */
async function decodedAtUse(out: string, size = 5): Promise<{ ids: number[]; pixels: Buffer }> {
  const split = await openTestImages(out);
  const ids: number[] = [];
  const parts: Buffer[] = [];
  for await (const batch of split.batches({ size })) {
    ids.push(...batch.id);
    parts.push(Buffer.from(batch.image));
  }
  return { ids, pixels: Buffer.concat(parts) };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('the index', () => {
  it('records each usable file: id, label, path, sha256 of its bytes, source size; no pixels', async () => {
    const { out, rows, metadata } = await indexOf(folders.dir, 'round-trip', { height: 32, width: 32, channels: 3 }, { preset: 'slim' });
    expect(metadata).toMatchObject({ split: 'test', height: 32, width: 32, channels: 3, preset: 'slim', alphaBackground: 'white', dir: folders.dir });
    expect(new Map(rows.file.map((f, i) => [f, rows.label[i]]))).toEqual(folders.expected);
    for (const [i, file] of rows.file.entries()) {
      const bytes = await readFile(path.join(folders.dir, file));
      expect(rows.sha256[i]).toBe(sha256(bytes));
      const meta = await sharp(bytes).metadata();
      expect([rows.sourceWidth[i], rows.sourceHeight[i]]).toEqual([meta.width, meta.height]);
    }
    // sources.csv says the same, and the index has no image column.
    const csv = (await readFile(path.join(out, 'sources.csv'), 'utf8')).trim().split('\n').slice(1);
    expect(csv).toEqual(rows.file.map((f, i) => `${rows.id[i]},${f},${rows.label[i]}`));
    expect(Object.keys(rows)).not.toContain('image');
  });

  it('is byte-identical on a second run', async () => {
    const input: Input = { height: 16, width: 16, channels: 3 };
    const a = await indexOf(folders.dir, 'det-a', input);
    const b = await indexOf(folders.dir, 'det-b', input);
    expect(sha256(await readFile(path.join(a.out, 'index.arrow')))).toBe(sha256(await readFile(path.join(b.out, 'index.arrow'))));
  });
});

describe('decoding at use', () => {
  // sha256 of every image's pixels, concatenated in id order, as preprocess wrote them into
  // test.arrow before the index existed (commit 4faef07, sharp 0.35.5) for this fixture: decoding
  // from the index must give the very same bytes. A sharp upgrade may change the last bits.
  const STORED_BEFORE: [string, Input, Record<string, unknown>, string][] = [
    ['keras', { height: 32, width: 32, channels: 3 }, { preset: 'keras' }, '426997bcf730a6887fd869fe35f09af3d0876de50513a2d9581e5ced8c68fec4'],
    ['slim', { height: 29, width: 31, channels: 3 }, { preset: 'slim' }, '6f98e57593661a14e9c086908a9fad35106a7b01de9a4171b22dbc094dbe8f2e'],
    ['crop-grey-black', { height: 24, width: 20, channels: 1 }, { preset: 'crop', alphaBackground: 'black' }, 'c6ecb9f9ad2c382b8b70b7c224da381a7b8a5648401b26fee2a0281970fb9063'],
  ];

  it.each(STORED_BEFORE)('gives the pixels preprocess stored before (%s)', async (name, input, dataset, expected) => {
    const { out, rows } = await indexOf(folders.dir, `stored-${name}`, input, dataset);
    const { ids, pixels } = await decodedAtUse(out);
    expect(ids).toEqual(Array.from(rows.id));
    expect(sha256(pixels)).toBe(expected);
  });

  it('gives what the preprocess decoder gives, a warned-about file included, whatever the batch size', async () => {
    const dir = path.join(root, 'with-warning');
    await cp(folders.dir, dir, { recursive: true });
    await writeCorruptScanJpeg(path.join(dir, 'n01000000', 'scan.jpg'));
    const input: Input = { height: 20, width: 24, channels: 3 };
    const { out, rows } = await indexOf(dir, 'with-warning', input, { preset: 'crop' });
    expect(rows.file).toContain('n01000000/scan.jpg');
    const direct: Buffer[] = [];
    for (const file of rows.file) {
      const result = await decodeImage(path.join(dir, file), 'crop', input, 'white');
      if (!result.ok) throw new Error(`${file}: ${result.reason}`);
      direct.push(Buffer.from(result.pixels));
    }
    expect((await decodedAtUse(out, 1)).pixels.equals(Buffer.concat(direct))).toBe(true);
    expect((await decodedAtUse(out, 64)).pixels.equals(Buffer.concat(direct))).toBe(true);
  });

  it('decodes only the images kept', async () => {
    const dir = path.join(root, 'keep');
    await cp(folders.dir, dir, { recursive: true });
    const { out, rows } = await indexOf(dir, 'keep', { height: 8, width: 8, channels: 3 });
    const wanted = [rows.id[1]!, rows.id[4]!];
    // A file left out is never read: with one removed, a pass over the others still succeeds.
    await unlink(path.join(dir, rows.file[0]!));
    const split = await openTestImages(out);
    const seen: number[] = [];
    for await (const batch of split.batches({ size: 10, keep: (id) => wanted.includes(id) })) seen.push(...batch.id);
    expect(seen).toEqual(wanted);
  });

  it('a file changed after preprocess is an error naming it and saying to rerun preprocess', async () => {
    const dir = path.join(root, 'changed');
    await cp(folders.dir, dir, { recursive: true });
    const { out, rows } = await indexOf(dir, 'changed', { height: 8, width: 8, channels: 3 });
    const victim = rows.file[3]!;
    await appendFile(path.join(dir, victim), Buffer.from([0])); // still a valid image, other bytes
    const error = await decodedAtUse(out).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(GradsignError);
    expect((error as GradsignError).message).toContain(`${path.join(dir, victim)} changed after preprocessing`);
    expect((error as GradsignError).hint).toMatch(/rerun the preprocess stage/);

    // A file removed since is named too.
    await unlink(path.join(dir, victim));
    await expect(decodedAtUse(out)).rejects.toThrow(new RegExp(`${victim.replace('.', '\\.')} was read by preprocess but cannot be decoded now \\(missing`));
  });
});

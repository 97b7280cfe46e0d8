import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImagesArtifact, readArtifact } from '@gradsign/core';
import { parseIdx, preprocess } from '../src/index.ts';

/** An IDX file of unsigned bytes with the given dimensions. */
function idx(dims: number[], data: Uint8Array, magicType = 0x08): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(magicType, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

let root: string;
async function fakeDataset(name: string, files: Partial<Record<string, Buffer>> = {}): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  const make = (n: number) => ({
    images: gzipSync(idx([n, 4, 3], Uint8Array.from({ length: n * 12 }, (_, i) => i % 251))),
    labels: gzipSync(idx([n], Uint8Array.from({ length: n }, (_, i) => i % 10))),
  });
  const train = make(7);
  const test = make(5);
  const all: Record<string, Buffer> = {
    'train-images-idx3-ubyte.gz': train.images,
    'train-labels-idx1-ubyte.gz': train.labels,
    't10k-images-idx3-ubyte.gz': test.images,
    't10k-labels-idx1-ubyte.gz': test.labels,
    ...files,
  } as Record<string, Buffer>;
  for (const [f, data] of Object.entries(all)) if (data) await writeFile(path.join(dir, f), data);
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'gradsign-fmnist-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('IDX parsing', () => {
  it('reads dimensions and data', () => {
    const parsed = parseIdx(idx([2, 3], Uint8Array.of(1, 2, 3, 4, 5, 6)), 'x');
    expect(parsed.dims).toEqual([2, 3]);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects a file that is not IDX and truncated data, naming the file', () => {
    expect(() => parseIdx(Buffer.from('GIF89a…'), 'labels.gz')).toThrowError(/labels\.gz: not an IDX file \(magic 47 49 46 38/);
    expect(() => parseIdx(idx([3], Uint8Array.of(1, 2)), 'labels.gz')).toThrowError(/labels\.gz: IDX data has 2 bytes.*promises 3/);
  });

  it('an IDX file of another element type is named as such, with what Fashion-MNIST holds', () => {
    const float = () => parseIdx(idx([2], new Uint8Array(8), 0x0d), 'images.gz');
    expect(float).toThrowError(/images\.gz: an IDX file of float32 values \(magic 00 00 0d 01\); Fashion-MNIST's hold unsigned bytes \(00 00 08 0N\)/);
    expect(() => parseIdx(idx([2], new Uint8Array(4), 0x0b), 'images.gz')).toThrowError(/IDX file of int16 values/);
  });
});

describe('preprocess (Fashion-MNIST)', () => {
  it('writes train and test images artifacts with labels, class names and the limit applied', async () => {
    const dir = await fakeDataset('ok');
    const out = path.join(root, 'out-ok');
    await preprocess({ dataset: { kind: 'fashion-mnist', dir, trainLimit: 4 } }, out);
    expect((await readdir(out)).sort()).toEqual(['test.arrow', 'test.arrow.sha256', 'train.arrow', 'train.arrow.sha256']);
    const train = await readArtifact(ImagesArtifact, path.join(out, 'train.arrow'));
    const data = await train.readAll();
    await train.close();
    expect(train.metadata).toMatchObject({ height: 4, width: 3, channels: 1, split: 'train' });
    expect(train.metadata.classNames[0]).toBe('T-shirt/top');
    expect(Array.from(data.label)).toEqual([0, 1, 2, 3]);
    expect(data.image.length).toBe(4 * 12);
  });

  it('names the apt command when the dataset is missing', async () => {
    await expect(preprocess({ dataset: { kind: 'fashion-mnist', dir: path.join(root, 'nowhere') } }, path.join(root, 'o1'))).rejects.toMatchObject({
      message: expect.stringMatching(/Fashion-MNIST not found/),
      hint: expect.stringContaining('apt-get install -y dataset-fashion-mnist'),
    });
  });

  it('names the file of a truncated gzip and leaves no output directory behind', async () => {
    const good = gzipSync(idx([5, 4, 3], new Uint8Array(60)));
    const dir = await fakeDataset('cut', { 't10k-images-idx3-ubyte.gz': good.subarray(0, good.length - 10) });
    const out = path.join(root, 'out-cut');
    await expect(preprocess({ dataset: { kind: 'fashion-mnist', dir } }, out)).rejects.toThrowError(/t10k-images-idx3-ubyte\.gz: not a valid gzip file/);
    expect((await readdir(root)).filter((f) => f.includes('out-cut'))).toEqual([]);
  });

  it('names the file with a wrong IDX magic', async () => {
    const dir = await fakeDataset('magic', { 'train-labels-idx1-ubyte.gz': gzipSync(idx([7], new Uint8Array(7), 0x09)) });
    await expect(preprocess({ dataset: { kind: 'fashion-mnist', dir } }, path.join(root, 'o2'))).rejects.toThrowError(/train-labels-idx1-ubyte\.gz: an IDX file of int8 values/);
  });

  it('a labels file where the images belong is named as such', async () => {
    const labels = gzipSync(idx([5], Uint8Array.from({ length: 5 }, (_, i) => i)));
    const dir = await fakeDataset('labels-as-images', { 't10k-images-idx3-ubyte.gz': labels });
    await expect(preprocess({ dataset: { kind: 'fashion-mnist', dir } }, path.join(root, 'o4'))).rejects.toMatchObject({
      message: expect.stringMatching(/t10k-images-idx3-ubyte\.gz holds a 1-dimensional IDX array \[5\] \(labels\), where images \[n, height, width\] belong/),
      hint: expect.stringMatching(/t10k-images-idx3-ubyte\.gz/),
    });
  });

  it('images and labels files swapped: says they look swapped', async () => {
    const dir = await fakeDataset('swapped');
    const images = await readFile(path.join(dir, 't10k-images-idx3-ubyte.gz'));
    await rename(path.join(dir, 't10k-labels-idx1-ubyte.gz'), path.join(dir, 't10k-images-idx3-ubyte.gz'));
    await writeFile(path.join(dir, 't10k-labels-idx1-ubyte.gz'), images);
    await expect(preprocess({ dataset: { kind: 'fashion-mnist', dir } }, path.join(root, 'o5'))).rejects.toMatchObject({
      message: expect.stringMatching(/t10k-images-idx3-ubyte\.gz and t10k-labels-idx1-ubyte\.gz look swapped: the images file holds labels \[5\], the labels file images \[5, 4, 3\]/),
      hint: expect.stringMatching(/swap/),
    });
  });

  it('rejects an invalid stage config with the field path', async () => {
    await expect(preprocess({ dataset: { kind: 'fashion-mnist', testLimit: -1 } }, path.join(root, 'o3'))).rejects.toThrowError(/dataset\.testLimit/);
  });
});

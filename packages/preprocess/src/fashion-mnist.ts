import { access } from 'node:fs/promises';
import path from 'node:path';
import { GradsignError, ImagesArtifact, writeArtifactBatches, type Batch } from '@gradsign/core';
import { REINSTALL_HINT, readIdxGz, type IdxArray } from './idx.ts';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

export const INSTALL_HINT = 'install it with: apt-get update && apt-get install -y dataset-fashion-mnist';

const FILES = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
} as const;

export type Split = keyof typeof FILES;

/** Checks all four files exist, with one error listing what is missing and how to get it. */
export async function checkFashionMnist(dir: string): Promise<void> {
  const missing: string[] = [];
  for (const name of [...FILES.train, ...FILES.test]) {
    try {
      await access(path.join(dir, name));
    } catch {
      missing.push(name);
    }
  }
  if (missing.length) {
    throw new GradsignError(`Fashion-MNIST not found in ${dir} (missing ${missing.join(', ')})`, {
      hint: `${INSTALL_HINT}, or set dataset.dir to a folder holding the four *-ubyte.gz files`,
    });
  }
}

const shape = (a: IdxArray) => `[${a.dims.join(', ')}]`;
const looksLike = (a: IdxArray) => (a.dims.length === 1 ? 'labels' : a.dims.length === 3 ? 'images' : 'neither images nor labels');

/** Images must be [n, height, width] and labels [n]; swapped files, or one file in the other's place, are named. */
function checkShapes(images: IdxArray, labels: IdxArray, imagesFile: string, labelsFile: string): void {
  const [imagesName, labelsName] = [path.basename(imagesFile), path.basename(labelsFile)];
  if (images.dims.length === 1 && labels.dims.length === 3) {
    throw new GradsignError(
      `${path.dirname(imagesFile)}: ${imagesName} and ${labelsName} look swapped: the images file holds labels ${shape(images)}, the labels file images ${shape(labels)}`,
      { hint: `swap the two files' names back, or ${REINSTALL_HINT}` },
    );
  }
  for (const [file, array, want, dims] of [[imagesFile, images, 'images [n, height, width]', 3], [labelsFile, labels, 'labels [n]', 1]] as const) {
    if (array.dims.length !== dims) {
      throw new GradsignError(`${file} holds a ${array.dims.length}-dimensional IDX array ${shape(array)} (${looksLike(array)}), where ${want} belong`, {
        hint: `put the Fashion-MNIST ${want.split(' ')[0]} file under the name ${path.basename(file)}, or ${REINSTALL_HINT}`,
      });
    }
  }
}

/** Reads one split and writes it as an images artifact in batches of `batchSize`. */
export async function convertSplit(dir: string, split: Split, out: string, limit?: number, batchSize = 1000): Promise<number> {
  const [imagesFile, labelsFile] = FILES[split].map((f) => path.join(dir, f)) as [string, string];
  const images = await readIdxGz(imagesFile);
  const labels = await readIdxGz(labelsFile);
  checkShapes(images, labels, imagesFile, labelsFile);
  const [count, height, width] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new GradsignError(`${labelsFile} has ${labels.dims[0]} labels for ${count} images in ${imagesFile}`, {
      hint: 'the two files come from different releases: reinstall the dataset package',
    });
  }
  const n = Math.min(count, limit ?? count);
  const pixels = height * width;
  function* batches(): Generator<Batch<typeof ImagesArtifact.columns>> {
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      yield {
        id: Int32Array.from({ length: end - start }, (_, i) => start + i),
        label: Int32Array.from(labels.data.subarray(start, end)),
        image: images.data.slice(start * pixels, end * pixels),
      };
    }
  }
  const meta = { dataset: 'fashion-mnist', split, height, width, channels: 1, classNames: FASHION_MNIST_CLASSES };
  return writeArtifactBatches(ImagesArtifact, out, meta, { image: pixels }, batches());
}

/**
 * IDX files (the MNIST family's format), gzip-compressed: magic 0x0000 <type> <ndims>, then one
 * big-endian uint32 per dimension, then the data. Fashion-MNIST's are of type 0x08 (uint8); an IDX
 * file of another type is named as such.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { GradsignError } from '@gradsign/core';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** IDX element types by magic byte 3 (http://yann.lecun.com/exdb/mnist/). */
const IDX_TYPES: Record<number, string> = { 0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };
export const REINSTALL_HINT = 'reinstall the dataset: apt-get install --reinstall dataset-fashion-mnist';

export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const type = bytes.length >= 4 && view.getUint16(0) === 0 ? IDX_TYPES[view.getUint8(2)] : undefined;
  if (!type) {
    throw new GradsignError(`${source}: not an IDX file (magic ${magic || 'missing'}, expected 00 00 08 0N)`, {
      hint: `the file is damaged or not Fashion-MNIST: ${REINSTALL_HINT}`,
    });
  }
  if (type !== 'uint8') {
    throw new GradsignError(`${source}: an IDX file of ${type} values (magic ${magic}); Fashion-MNIST's hold unsigned bytes (00 00 08 0N)`, {
      hint: `dataset.dir must hold the original Fashion-MNIST files, not a converted copy: ${REINSTALL_HINT}`,
    });
  }
  const ndims = view.getUint8(3);
  const header = 4 + 4 * ndims;
  if (ndims === 0 || bytes.length < header) {
    throw new GradsignError(`${source}: IDX header is truncated`, { hint: 'reinstall the dataset package' });
  }
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== expected) {
    throw new GradsignError(
      `${source}: IDX data has ${bytes.length - header} bytes, its header (${dims.join('×')}) promises ${expected}`,
      { hint: 'the file is truncated or damaged: reinstall the dataset package' },
    );
  }
  return { dims, data: bytes.subarray(header) };
}

export async function readIdxGz(file: string): Promise<IdxArray> {
  let compressed: Buffer;
  try {
    compressed = await readFile(file);
  } catch (error) {
    throw new GradsignError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: 'install the dataset: apt-get update && apt-get install -y dataset-fashion-mnist',
    });
  }
  let raw: Buffer;
  try {
    raw = gunzipSync(compressed);
  } catch (error) {
    throw new GradsignError(`${file}: not a valid gzip file (${(error as Error).message})`, {
      hint: 'the file is truncated or damaged: reinstall it with `apt-get install --reinstall dataset-fashion-mnist`',
    });
  }
  return parseIdx(raw, file);
}

/**
 * IDX files (the MNIST family's format), gzip-compressed: magic 0x0000 0x08 <ndims>, then one
 * big-endian uint32 per dimension, then uint8 data.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { GradsignError } from '@gradsign/core';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0 || view.getUint8(2) !== 0x08) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new GradsignError(`${source}: not an IDX file of unsigned bytes (magic ${magic || 'missing'}, expected 00 00 08 0N)`, {
      hint: 'the file is damaged or not Fashion-MNIST: reinstall it with `apt-get install --reinstall dataset-fashion-mnist`',
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

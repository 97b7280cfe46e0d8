import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountTmpfs } from '../../../test/helpers/tmpfs.ts';
import { BucketsArtifact, GradsignError, ImagesArtifact, readArtifact, sha256File, writeArtifact, writeArtifactBatches } from '../src/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gradsign-arrow-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const meta = { dataset: 'test', split: 'test', height: 2, width: 2, channels: 1, classNames: ['a', 'b'] };
const batch = (start: number, n: number) => ({
  id: Int32Array.from({ length: n }, (_, i) => start + i),
  label: Int32Array.from({ length: n }, (_, i) => (start + i) % 2),
  image: Uint8Array.from({ length: n * 4 }, (_, i) => (start * 4 + i) % 256),
});

describe('Arrow artifacts', () => {
  it('round-trips record batches with metadata, and opens in flechette with the same content', async () => {
    const file = path.join(dir, 'images.arrow');
    const rows = await writeArtifactBatches(ImagesArtifact, file, meta, { image: 4 }, [batch(0, 3), batch(3, 5)]);
    expect(rows).toBe(8);
    const reader = await readArtifact(ImagesArtifact, file);
    expect(reader.metadata).toEqual(meta);
    expect(reader.numBatches).toBe(2);
    const all = await reader.readAll();
    await reader.close();
    expect(Array.from(all.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(all.image.subarray(28, 32))).toEqual([28, 29, 30, 31]);

    const table = tableFromIPC(await readFile(file), { useProxy: false });
    expect(table.numRows).toBe(8);
    expect(Array.from(table.getChild('image')!.at(7) as Uint8Array)).toEqual([28, 29, 30, 31]);
    expect(JSON.parse(table.schema.metadata!.get('gradsign.metadata')!)).toEqual(meta);
  });

  it('leaves nothing at the target when writing is aborted', async () => {
    const file = path.join(dir, 'aborted.arrow');
    const failing = async function* () {
      yield batch(0, 2);
      throw new Error('disk on fire');
    };
    await expect(writeArtifactBatches(ImagesArtifact, file, meta, { image: 4 }, failing())).rejects.toThrow('disk on fire');
    expect((await readdir(dir)).filter((f) => f.includes('aborted'))).toEqual([]);
  });

  it('rejects a truncated file, a foreign file and the wrong kind, naming the file and the stage to run', async () => {
    const file = path.join(dir, 'cut.arrow');
    await writeArtifactBatches(ImagesArtifact, file, meta, { image: 4 }, [batch(0, 3)]);
    const { size } = await import('node:fs').then((fs) => fs.statSync(file));
    await truncate(file, size - 20);
    await expect(readArtifact(ImagesArtifact, file)).rejects.toThrowError(/cut\.arrow is not a complete Arrow IPC file/);

    const foreign = path.join(dir, 'foreign.arrow');
    await writeFile(foreign, 'id,label\n1,2\n');
    await expect(readArtifact(ImagesArtifact, foreign)).rejects.toBeInstanceOf(GradsignError);

    const images = path.join(dir, 'images2.arrow');
    await writeArtifactBatches(ImagesArtifact, images, meta, { image: 4 }, [batch(0, 3)]);
    const error = (await readArtifact(BucketsArtifact, images).catch((e: unknown) => e)) as GradsignError;
    expect(error.message).toMatch(/expected a gradsign buckets artifact, found a images artifact/);
    expect(error.hint).toMatch(/bucketing stage/);

    await expect(readArtifact(ImagesArtifact, path.join(dir, 'missing.arrow'))).rejects.toThrowError(/missing images artifact/);
  });

  it('validates metadata against the artifact schema before writing', async () => {
    await expect(writeArtifact(ImagesArtifact, path.join(dir, 'bad.arrow'), { ...meta, classNames: ['only-one'] }, { image: 4 })).rejects.toThrow();
  });

  it('records a sha256 beside each artifact (sha256sum format) and refuses a file with a flipped bit or no checksum', async () => {
    const file = path.join(dir, 'flip.arrow');
    await writeArtifactBatches(ImagesArtifact, file, meta, { image: 4 }, [batch(0, 8)]);
    const sidecar = await readFile(`${file}.sha256`, 'utf8');
    expect(sidecar).toBe(`${await sha256File(file)}  flip.arrow\n`);
    // One bit inside an image column: still a well-formed Arrow file, so only the checksum can tell.
    const bytes = await readFile(file);
    const at = bytes.indexOf(Buffer.from([28, 29, 30, 31]));
    expect(at).toBeGreaterThan(0);
    bytes[at]! ^= 1;
    await writeFile(file, bytes);
    const error = (await readArtifact(ImagesArtifact, file).catch((e: unknown) => e)) as GradsignError;
    expect(error).toBeInstanceOf(GradsignError);
    expect(error.message).toMatch(/flip\.arrow is damaged: its sha256 is .*, its writer recorded/);
    expect(error.hint).toMatch(/rerun the preprocess stage.*npx nx reset/);
    await rm(`${file}.sha256`);
    await expect(readArtifact(ImagesArtifact, file)).rejects.toThrowError(/flip\.arrow has no checksum/);
  });

  it('turns a full disk into one error naming the file (never an unhandled rejection), and leaves nothing behind', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const disk = await mountTmpfs(64);
    try {
      const file = path.join(disk.dir, 'full.arrow');
      const writer = await writeArtifact(ImagesArtifact, file, meta, { image: 4 });
      let thrown: unknown;
      // 256 KiB of images into 64 KiB: a write or the close fails.
      for (let i = 0; i < 64 && !thrown; i++) await writer.write(batch(i * 256, 256)).catch((e: unknown) => (thrown = e));
      thrown ??= await writer.close().catch((e: unknown) => e);
      if (thrown) await writer.abort();
      expect(thrown).toBeInstanceOf(GradsignError);
      expect((thrown as Error).message).toMatch(/cannot write .*full\.arrow: no space left on the device \(ENOSPC\)/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
      expect(await readdir(disk.dir)).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await disk.unmount();
    }
  });
});

/** gradsign-export: PNGs that hold exactly the quantised adversarial images, a CSV index, clear errors. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdversarialArtifact, GradsignError, readArtifact } from '@gradsign/core';
import { quantize } from '@gradsign/core';
import { csvField, exportCombination, INDEX_COLUMNS, listCombinations } from '../src/export.ts';
import { roundHalfEven, toBytes } from '../src/images.ts';
import { CLASS_NAMES, H, makeFixture, W, type Fixture } from './fixture.ts';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../bin/gradsign-export.js');

let tmp: string;
let fx: Fixture;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'gradsign-export-'));
  fx = await makeFixture(path.join(tmp, 'artifacts', 'fixture'));
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

/** Splits one CSV line (no embedded newlines) into fields. */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') out.push(field), (field = '');
    else field += c;
  }
  out.push(field);
  return out;
}

describe('quantisation', () => {
  it('rounds half to even', () => {
    expect([0.5, 1.5, 2.5, 3.5, 126.5, 127.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, 126, 128, 2, 3]);
  });

  it('gives the bytes evaluate\'s quantize stands for, clipping to [0, 1]', () => {
    const x = Float32Array.from({ length: 5000 }, (_, i) => ((i * 7919) % 5000) / 4000 - 0.1);
    x[0] = 0.5;
    const bytes = toBytes(x);
    const q = quantize(x);
    for (let i = 0; i < x.length; i++) expect(bytes[i]).toBe(Math.round(q[i]! * 255));
    expect(bytes[0]).toBe(128);
  });
});

describe('exportCombination', () => {
  it('writes one PNG per adversarial image and an index with class names', async () => {
    const id = 'bim-least-likely-eps8-255';
    const out = path.join(tmp, 'exports', 'bim');
    const result = await exportCombination({ artifacts: fx.root, combination: id, out });
    expect(result).toMatchObject({ images: 18, height: H, width: W, channels: 1 });

    const lines = (await readFile(result.index, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe(INDEX_COLUMNS.join(','));
    expect(lines).toHaveLength(1 + 18);
    const rows = lines.slice(1).map((l) => Object.fromEntries(parseCsvLine(l).map((v, i) => [INDEX_COLUMNS[i], v])));

    const adv = await readArtifact(AdversarialArtifact, path.join(fx.root, 'attacks', id, 'adversarial.arrow'));
    const all = await adv.readAll();
    await adv.close();
    for (let i = 0; i < all.id.length; i++) {
      const row = rows[i]!;
      expect(Number(row.id)).toBe(all.id[i]);
      expect(row.bucket).toBe(all.bucket[i]);
      expect(row.file).toBe(`${all.bucket[i]}/${all.id[i]}.png`);
      expect(row.labelName).toBe(CLASS_NAMES[Number(row.label)]);
      expect(row.predictionName).toBe(CLASS_NAMES[Number(row.prediction)]);
      expect(row.targeted).toBe('true');
      expect(Number(row.confidence)).toBeGreaterThan(0);
      expect(row.top1Error === 'true').toBe(row.prediction !== row.label);
      // The PNG holds exactly the quantised float32 image.
      const file = await readFile(path.join(out, row.file!));
      // IHDR: 8-bit (byte 24), colour type 0 = grey (byte 25).
      expect([file.readUInt32BE(16), file.readUInt32BE(20), file[24], file[25]]).toEqual([W, H, 8, 0]);
      const { data, info } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([W, H, 1]);
      const expected = toBytes(all.image.subarray(i * H * W, (i + 1) * H * W));
      expect(Buffer.compare(data, Buffer.from(expected))).toBe(0);
    }
    // Class names with a comma or quote would be quoted; "T-shirt/top" is not.
    expect(csvField('T-shirt/top')).toBe('T-shirt/top');
    expect(csvField('a, "b"')).toBe('"a, ""b"""');
  });

  it('lists the available combinations when the one asked for is missing', async () => {
    const available = await listCombinations(fx.root);
    expect(available).toEqual([...fx.config.combinations].sort());
    const error = await exportCombination({ artifacts: fx.root, combination: 'bim-inverse-eps0.5', out: path.join(tmp, 'x') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GradsignError);
    expect((error as Error).message).toContain('no combination "bim-inverse-eps0.5"');
    expect((error as Error).message).toContain(available.join(', '));
    const none = await exportCombination({ artifacts: fx.root, combination: undefined, out: path.join(tmp, 'x') }).catch((e: unknown) => e);
    expect((none as Error).message).toMatch(/--combination; available in .*: bim-inverse-eps4-255/);
  });

  it('names a missing artifacts directory or evaluation', async () => {
    const error = await exportCombination({ artifacts: path.join(tmp, 'nope'), combination: 'x', out: path.join(tmp, 'x') }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/no artifacts directory at .*nope/);
    const f = await makeFixture(path.join(tmp, 'artifacts', 'no-eval'), { eps: ['8/255'], pipeline: 'no-eval' });
    await rm(path.join(f.root, 'evaluate', 'fgsm-inverse-eps8-255'), { recursive: true });
    const missing = await exportCombination({ artifacts: f.root, combination: 'fgsm-inverse-eps8-255', out: path.join(tmp, 'x') }).catch((e: unknown) => e);
    expect((missing as GradsignError).message).toMatch(/missing metrics artifact/);
    expect((missing as GradsignError).hint).toMatch(/evaluate stage for combination fgsm-inverse-eps8-255/);
  });
});

describe('gradsign-export CLI', () => {
  it('prints help, exports, and fails with the list of combinations', async () => {
    const help = await run(process.execPath, [BIN, '--help']);
    expect(help.stdout).toContain('gradsign-export');
    expect(help.stdout).toContain('--combination');
    const out = path.join(tmp, 'cli-out');
    const ok = await run(process.execPath, [BIN, '--artifacts', fx.root, '--combination', 'fgsm-inverse-eps4-255', '--out', out]);
    expect(ok.stdout).toMatch(/wrote 18 PNG files \(5×4, grey, 8-bit\)/);
    const bad = await run(process.execPath, [BIN, '--artifacts', fx.root, '--combination', 'nope', '--out', out]).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stderr: string }).stderr).toMatch(/error: no combination "nope" .*available: bim-inverse-eps4-255/);
  }, 30_000);
});

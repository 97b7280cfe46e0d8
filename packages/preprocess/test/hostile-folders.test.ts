/**
 * Image folders a hostile but honest user can make: symlink loops and broken links, the same image
 * reached twice, truncated JPEGs decoded many at a time, JPEGs with corrupt scan data. Nothing may
 * crash, be counted twice, or pass without a word, and every output must be the same on every run.
 */
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageIndexArtifact, readArtifact } from '@gradsign/core';
import { preprocess } from '../src/index.ts';
import { decodeImage } from '../src/image-folder.ts';
import { classImage, writeCorruptJpeg, writeCorruptScanJpeg, writeJpeg } from '../../../test/fixtures/imagenet-like.ts';

const INPUT = { height: 16, width: 16, channels: 3 };
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'gradsign-hostile-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `<root>/<name>/{cat,dog}/img_{0,1,2}.jpg`: six good images of two classes. */
async function twoClasses(name: string): Promise<string> {
  const dir = path.join(root, name);
  for (const [k, folder] of ['cat', 'dog'].entries()) {
    for (let j = 0; j < 3; j++) {
      await writeJpeg(path.join(dir, folder, `img_${j}.jpg`), { data: classImage(k * 100, 24, 20, j), width: 24, height: 20, channels: 3 });
    }
  }
  return dir;
}

interface Output {
  files: string[];
  rejects: { file: string; category: string; reason: string }[];
  duplicates: { file: string; sameAs: string; kind: string }[];
  warnings: { file: string; category: string; warning: string }[];
  raw: Record<'rejects' | 'duplicates' | 'warnings', string>;
}

async function run(dir: string, name: string, dataset: Record<string, unknown> = {}): Promise<Output> {
  const out = path.join(root, 'out', name);
  await preprocess({ dataset: { kind: 'image-folder', dir, ...dataset }, input: INPUT }, out);
  const reader = await readArtifact(ImageIndexArtifact, path.join(out, 'index.arrow'));
  const { id } = await reader.readAll();
  await reader.close();
  const files = (await readFile(path.join(out, 'sources.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',')[1]!);
  expect(files).toHaveLength(id.length);
  const raw = {
    rejects: await readFile(path.join(out, 'rejects.json'), 'utf8'),
    duplicates: await readFile(path.join(out, 'duplicates.json'), 'utf8'),
    warnings: await readFile(path.join(out, 'warnings.json'), 'utf8'),
  };
  return { files: files.sort(), rejects: JSON.parse(raw.rejects), duplicates: JSON.parse(raw.duplicates), warnings: JSON.parse(raw.warnings), raw };
}

const GOOD = ['cat/img_0.jpg', 'cat/img_1.jpg', 'cat/img_2.jpg', 'dog/img_0.jpg', 'dog/img_1.jpg', 'dog/img_2.jpg'];

describe('symlinks in an image folder', () => {
  it('a looping and a broken file link are rejects that name their link text', async () => {
    const dir = await twoClasses('file-links');
    await symlink('loop.jpg', path.join(dir, 'cat/loop.jpg'));
    await symlink('gone.jpg', path.join(dir, 'dog/broken.jpg'));
    const out = await run(dir, 'file-links');
    expect(out.files).toEqual(GOOD);
    expect(out.rejects).toEqual([
      { file: 'cat/loop.jpg', category: 'symlink-loop', reason: expect.stringMatching(/symlink to "loop\.jpg" leads back to itself \(ELOOP\)/) },
      { file: 'dog/broken.jpg', category: 'broken-symlink', reason: expect.stringMatching(/symlink to "gone\.jpg", which does not exist/) },
    ]);
  });

  it('a folder link back to its own folder (ln -s . cat/selfloop) is read once and noted in duplicates.json', async () => {
    const dir = await twoClasses('self-loop');
    await symlink('.', path.join(dir, 'cat/selfloop'));
    const out = await run(dir, 'self-loop');
    expect(out.files).toEqual(GOOD);
    expect(out.duplicates).toEqual([{ file: 'cat/selfloop', sameAs: 'cat', kind: 'folder' }]);
  });

  it('two folder loops and a link up to the root neither crash nor duplicate', async () => {
    const dir = await twoClasses('two-loops');
    await symlink('.', path.join(dir, 'cat/selfloop'));
    await symlink('.', path.join(dir, 'dog/selfloop'));
    await symlink('..', path.join(dir, 'dog/up'));
    const out = await run(dir, 'two-loops');
    expect(out.files).toEqual(GOOD);
    expect(out.duplicates).toEqual([
      { file: 'cat/selfloop', sameAs: 'cat', kind: 'folder' },
      { file: 'dog/selfloop', sameAs: 'dog', kind: 'folder' },
      { file: 'dog/up', sameAs: '.', kind: 'folder' },
    ]);
  });

  it('the same image reached twice (a file link, a linked folder) is counted once, as the path met first', async () => {
    const dir = await twoClasses('same-image');
    await symlink('img_0.jpg', path.join(dir, 'cat/alias.jpg'));
    await mkdir(path.join(dir, 'dog/more'));
    await symlink('../img_1.jpg', path.join(dir, 'dog/more/again.jpg'));
    const out = await run(dir, 'same-image');
    expect(out.files).toEqual(GOOD.map((f) => (f === 'cat/img_0.jpg' ? 'cat/alias.jpg' : f)).sort()); // "alias.jpg" < "img_0.jpg"
    expect(out.duplicates).toEqual([
      { file: 'cat/img_0.jpg', sameAs: 'cat/alias.jpg', kind: 'file' },
      { file: 'dog/more/again.jpg', sameAs: 'dog/img_1.jpg', kind: 'file' },
    ]);
  });
});

describe('flawed JPEGs', () => {
  it('a truncated JPEG gets one category and reason however many decodes run at once', async () => {
    // libvips keeps one error buffer for all threads: with 32 decodes in flight, a few of 96
    // truncated-JPEG messages used to come back cut ("Input file has corrupt header:") or as
    // "Unknown error".
    const dir = path.join(root, 'truncated-unit');
    await writeCorruptJpeg(path.join(dir, 'cut.jpg'));
    await writeJpeg(path.join(dir, 'good.jpg'), { data: classImage(3, 200, 150), width: 200, height: 150, channels: 3 });
    const files = Array.from({ length: 32 }, (_, i) => path.join(dir, i % 2 ? 'cut.jpg' : 'good.jpg'));
    const failures = new Set<string>();
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(files.map((f) => decodeImage(f, 'keras', { height: 16, width: 16, channels: 3 }, 'white')));
      for (const r of results) if (!r.ok) failures.add(JSON.stringify(r));
    }
    expect([...failures]).toHaveLength(1);
    expect(JSON.parse([...failures][0]!)).toEqual({ ok: false, category: 'corrupt-jpeg', reason: expect.stringMatching(/premature end of JPEG image/) });
  });

  it('rejects.json, warnings.json and duplicates.json are byte-identical over runs', async () => {
    const dir = await twoClasses('truncated-stage');
    for (let i = 0; i < 16; i++) await writeCorruptJpeg(path.join(dir, i % 2 ? 'cat' : 'dog', `cut_${i}.jpg`));
    for (let i = 0; i < 4; i++) await writeCorruptScanJpeg(path.join(dir, 'dog', `scan_${i}.jpg`));
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push((await run(dir, `truncated-stage-${i}`)).raw);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    expect(JSON.parse(runs[0]!.rejects)).toHaveLength(16);
    expect(JSON.parse(runs[0]!.warnings)).toHaveLength(4);
  });

  it('a JPEG with corrupt scan data is used by default, with the decoder\'s warning in warnings.json', async () => {
    const dir = await twoClasses('scan');
    await writeCorruptScanJpeg(path.join(dir, 'dog/scan.jpg'));
    const out = await run(dir, 'scan');
    expect(out.files).toEqual([...GOOD, 'dog/scan.jpg'].sort());
    expect(out.rejects).toEqual([]);
    expect(out.warnings).toEqual([{ file: 'dog/scan.jpg', category: 'jpeg-warning', warning: 'VipsJpeg: Corrupt JPEG data: premature end of data segment' }]);
  });

  it('"decode": "strict" rejects a JPEG with corrupt scan data into rejects.json', async () => {
    const dir = await twoClasses('scan-strict');
    await writeCorruptScanJpeg(path.join(dir, 'dog/scan.jpg'));
    const out = await run(dir, 'scan-strict', { decode: 'strict' });
    expect(out.files).toEqual(GOOD);
    expect(out.warnings).toEqual([]);
    expect(out.rejects).toEqual([
      { file: 'dog/scan.jpg', category: 'jpeg-warning', reason: 'VipsJpeg: Corrupt JPEG data: premature end of data segment (rejected: "decode": "strict")' },
    ]);
  });
});

/**
 * Replacing a finished output never loses it: a stage killed between moving the old output aside
 * and moving the new one in finds the old one put back on its next start.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asidePathFor, writeDirAtomic, writeFileAtomic } from '../src/atomic.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gradsign-atomic-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const output = (name: string) => path.join(dir, name);
const contents = (target: string) => readFile(path.join(target, 'result.txt'), 'utf8');

/** Replaces `target` with "new" in a child process that SIGKILLs itself at `step`. */
async function replaceAndDie(target: string, step: 'afterAside' | 'afterIn') {
  const atomic = path.join(import.meta.dirname, '../src/atomic.ts');
  const script = `
    import { replaceSteps, writeDirAtomic } from ${JSON.stringify(atomic)};
    import { writeFile } from 'node:fs/promises';
    replaceSteps.${step} = () => process.kill(process.pid, 'SIGKILL');
    await writeDirAtomic(${JSON.stringify(target)}, (tmp) => writeFile(tmp + '/result.txt', 'new'));
  `;
  const child = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { reject: false });
  expect(child.signal).toBe('SIGKILL');
}

describe('writeDirAtomic', () => {
  it('replaces a finished output with the new one, leaving nothing else beside it', async () => {
    const target = output('plain');
    await writeDirAtomic(target, (tmp) => writeFile(path.join(tmp, 'result.txt'), 'old'));
    await writeDirAtomic(target, (tmp) => writeFile(path.join(tmp, 'result.txt'), 'new'));
    expect(await contents(target)).toBe('new');
    expect((await readdir(dir)).filter((f) => f.includes('plain'))).toEqual(['plain']);
  });

  it('a kill after the old output moved aside: the next start puts it back, even when that run fails', async () => {
    const target = output('killed-aside');
    await writeDirAtomic(target, (tmp) => writeFile(path.join(tmp, 'result.txt'), 'old'));
    await replaceAndDie(target, 'afterAside');
    expect(await readdir(asidePathFor(target))).toEqual(['result.txt']);
    await expect(writeDirAtomic(target, async () => Promise.reject(new Error('stage failed')))).rejects.toThrow('stage failed');
    expect(await contents(target)).toBe('old');
    expect((await readdir(dir)).filter((f) => f.includes('killed-aside'))).toEqual(['killed-aside']);
  });

  it('a kill after the new output moved in: the leftover old copy is removed on the next start', async () => {
    const target = output('killed-in');
    await writeDirAtomic(target, (tmp) => writeFile(path.join(tmp, 'result.txt'), 'old'));
    await replaceAndDie(target, 'afterIn');
    expect(await contents(target)).toBe('new');
    await writeDirAtomic(target, (tmp) => writeFile(path.join(tmp, 'result.txt'), 'newer'));
    expect(await contents(target)).toBe('newer');
    expect((await readdir(dir)).filter((f) => f.includes('killed-in'))).toEqual(['killed-in']);
  });
});

describe('writeFileAtomic', () => {
  it('writes the whole content and leaves no temp file', async () => {
    const file = output('file.txt');
    await writeFileAtomic(file, 'a'.repeat(100_000));
    expect((await readFile(file, 'utf8')).length).toBe(100_000);
    expect((await readdir(dir)).filter((f) => f.includes('file.txt'))).toEqual(['file.txt']);
  });
});

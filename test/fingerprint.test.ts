/**
 * packages/nx-plugin/fingerprint.cjs, the runtime input through which Nx hashes files outside the
 * workspace (dataset, model). Nx hashes whatever the command prints, exit status ignored: a crash
 * would be a fixed input, and every later change to the folder would be served from the cache. So
 * the fingerprint must succeed on every folder a user can make, and change whenever the folder does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../packages/nx-plugin/fingerprint.cjs');
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** An image folder: imgs/c1/a.jpg, imgs/c2/b.jpg, plus whatever `extra` adds. */
function folder(extra: (imgs: string) => void = () => {}): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'gradsign-fingerprint-'));
  roots.push(root);
  const imgs = path.join(root, 'imgs');
  mkdirSync(path.join(imgs, 'c1'), { recursive: true });
  mkdirSync(path.join(imgs, 'c2'));
  writeFileSync(path.join(imgs, 'c1/a.jpg'), 'a');
  writeFileSync(path.join(imgs, 'c2/b.jpg'), 'b');
  extra(imgs);
  return imgs;
}

/** Runs the script; it must exit 0 with one sha256 on stdout and nothing on stderr. */
function fingerprint(...args: string[]): string {
  const run = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 10_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^[0-9a-f]{64}\n$/);
  return run.stdout;
}

describe('fingerprint.cjs', () => {
  test('a looping file link and a broken link are fingerprinted by their link text, and an added image is seen', () => {
    const imgs = folder((dir) => {
      symlinkSync('loop.jpg', path.join(dir, 'c1/loop.jpg')); // links to itself: ELOOP
      symlinkSync('gone.jpg', path.join(dir, 'c1/broken.jpg'));
    });
    const before = fingerprint(imgs);
    writeFileSync(path.join(imgs, 'c2/new.jpg'), 'new');
    const added = fingerprint(imgs);
    expect(added).not.toBe(before);

    // Retargeting a broken link changes the fingerprint too (its link text is hashed).
    unlinkSync(path.join(imgs, 'c1/broken.jpg'));
    symlinkSync('elsewhere.jpg', path.join(imgs, 'c1/broken.jpg'));
    expect(fingerprint(imgs)).not.toBe(added);
  });

  test('a directory link loop is read once, and an added image is seen', () => {
    const imgs = folder((dir) => {
      symlinkSync('.', path.join(dir, 'c1/selfloop'));
      symlinkSync('../c1', path.join(dir, 'c2/back'));
    });
    const before = fingerprint(imgs);
    writeFileSync(path.join(imgs, 'c1/new.jpg'), 'new');
    expect(fingerprint(imgs)).not.toBe(before);
  });

  test('a FIFO is fingerprinted by its kind, not read (reading it would hang)', () => {
    const imgs = folder((dir) => execFileSync('mkfifo', [path.join(dir, 'c1/pipe')]));
    expect(fingerprint(imgs)).toMatch(/^[0-9a-f]{64}\n$/);
  });

  test('the same files give the same fingerprint wherever the folder is', () => {
    const a = folder((dir) => symlinkSync('gone.jpg', path.join(dir, 'c1/broken.jpg')));
    const b = folder((dir) => symlinkSync('gone.jpg', path.join(dir, 'c1/broken.jpg')));
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(path.join(a, 'missing'))).toBe(fingerprint(path.join(b, 'missing')));
  });
});

/**
 * A small tmpfs for disk-full tests: mounting one needs root, which CI has (its script runs
 * apt-get); elsewhere the test fails with a message saying so rather than passing untested.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface Tmpfs {
  dir: string;
  unmount(): Promise<void>;
}

export async function mountTmpfs(sizeKiB: number): Promise<Tmpfs> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gradsign-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`this test mounts a ${sizeKiB} KiB tmpfs to fill a disk, which needs root (CI runs as root): ${(error as Error).message}`);
  }
  return {
    dir,
    async unmount() {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Outputs appear whole or not at all, and survive a crash once they have appeared:
 *
 *  - a file is written to a temp sibling, fsynced, renamed over the target, and its directory
 *    fsynced (so the rename itself is durable);
 *  - a stage's output directory is built in a temp sibling, every file and folder in it fsynced,
 *    then swapped in without a window in which neither the old nor the new output exists: the old
 *    one is renamed aside, the new one renamed in, the old one removed. A stage killed between
 *    those steps finds the aside copy on its next start and puts it back.
 */
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileSystemError } from './fs-errors.ts';

/** A temporary sibling of `target`: same directory, so the final rename is atomic. */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

/** Where a directory's previous version waits while the new one moves in (fixed, so a later run finds it). */
export function asidePathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.previous`);
}

/** Flushes a file or a directory (its entries: renames, new files) to the disk. */
export async function syncPath(p: string): Promise<void> {
  const handle = await open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs every file and folder under `dir`, and `dir` itself. */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(p);
    else if (entry.isFile()) await syncPath(p);
  }
  await syncPath(dir);
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * Writes a file so that readers only ever see the old content or the complete new one, and the
 * new one is on disk before it replaces the old.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
    await syncPath(path.dirname(target));
  } catch (error) {
    await rm(tmp, { force: true });
    throw fileSystemError(error, target);
  }
}

/** Test hooks between the steps of replacing a directory (a test kills the process there). */
export const replaceSteps: { afterAside?: (target: string) => void; afterIn?: (target: string) => void } = {};

/** Whether process `pid` is running (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A replacement interrupted between its steps: only the aside copy left (killed after moving the
 * old output aside) → it is put back; both left (killed before removing the old one) → the aside
 * copy goes. Temp siblings of processes that died are removed. Called at the start of every
 * writeDirAtomic.
 */
export async function recoverInterruptedReplace(target: string): Promise<void> {
  const prefix = `.${path.basename(target)}.tmp-`;
  for (const name of await readdir(path.dirname(target))) {
    const pid = name.startsWith(prefix) ? Number.parseInt(name.slice(prefix.length), 10) : Number.NaN;
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) await rm(path.join(path.dirname(target), name), { recursive: true, force: true });
  }
  const aside = asidePathFor(target);
  if (!(await exists(aside))) return;
  if (await exists(target)) await rm(aside, { recursive: true, force: true });
  else await rename(aside, target);
}

/**
 * Builds a whole output directory in a temp directory and swaps it into place when `build`
 * succeeds, so an interrupted stage never leaves a half-written directory where a finished one
 * belongs, and never loses the previous one.
 */
export async function writeDirAtomic(target: string, build: (tmpDir: string) => Promise<void>): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  await recoverInterruptedReplace(target);
  const tmp = tempPathFor(target);
  await mkdir(tmp, { recursive: true });
  try {
    await build(tmp);
    await syncTree(tmp);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw fileSystemError(error, target);
  }
  const aside = asidePathFor(target);
  const hadPrevious = await exists(target);
  if (hadPrevious) {
    await rename(target, aside);
    replaceSteps.afterAside?.(target);
  }
  await rename(tmp, target);
  await syncPath(path.dirname(target));
  replaceSteps.afterIn?.(target);
  if (hadPrevious) await rm(aside, { recursive: true, force: true });
}

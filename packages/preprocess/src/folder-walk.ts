/**
 * Lists an image folder the way a user's `ls -R` would read it, but safely: symlinks are followed,
 * each file and folder is read once (a link back up the tree, or two paths to one image, would
 * otherwise loop forever or count an image twice), and every entry that cannot be used is recorded
 * with why instead of being dropped.
 *
 * Identity is the target's (device, inode), so a symlink, a hard link and the real path of one
 * image are one image. The first path met wins; traversal is depth-first in byte order of names, so
 * "first" is the same on every machine. Later paths go to `duplicates`; broken and looping links,
 * FIFOs and unreadable entries to `rejects`. Hidden files and folders (".DS_Store", ".git") are
 * skipped silently.
 */
import type { Dirent } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { GradsignError } from '@gradsign/core';
import { entryFlaw, linkFlaw, type Duplicate, type Reject } from '@gradsign/core/images';

export type EntryKind = 'file' | 'dir';

export interface Entry {
  name: string;
  kind: EntryKind;
  /** Target's device and inode. */
  identity: string;
}

export const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const hidden = (name: string) => name.startsWith('.');
const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

export class FolderWalk {
  readonly rejects: Reject[] = [];
  readonly duplicates: Duplicate[] = [];
  /** identity → the path it was first read as ('' is the root). */
  private readonly read = new Map<string, string>();

  constructor(
    readonly root: string,
    private readonly field = 'dataset.dir',
  ) {}

  /** The root itself, so a link up to it is not followed. */
  async start(): Promise<this> {
    const s = await stat(this.root).catch(() => undefined);
    if (s) this.read.set(`${s.dev}:${s.ino}`, '');
    return this;
  }

  /** Files and folders in `rel` (symlinks followed), sorted; what cannot be used goes to `rejects`. */
  async list(rel: string): Promise<Entry[]> {
    const dir = path.join(this.root, rel);
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      throw new GradsignError(`${this.field}: cannot read folder ${dir} (${codeOf(error)})`, {
        hint: 'set dataset.dir to the folder holding the images (paths are relative to the working directory)',
      });
    }
    dirents = dirents.filter((e) => !hidden(e.name)).sort((a, b) => byteOrder(a.name, b.name));
    const entries = await Promise.all(dirents.map((e) => this.entry(dir, rel, e)));
    return entries.filter((e): e is Entry => e !== undefined);
  }

  /**
   * True the first time an entry's target is met; later, false, with the path noted in
   * `duplicates` (a folder reached again is not read again).
   */
  claim(rel: string, entry: Entry): boolean {
    const first = this.read.get(entry.identity);
    if (first === undefined) {
      this.read.set(entry.identity, rel);
      return true;
    }
    this.duplicates.push({ file: rel, sameAs: first || '.', kind: entry.kind === 'dir' ? 'folder' : 'file' });
    return false;
  }

  /** Every file under `rel` (a folder already claimed), depth-first, as paths relative to the root. */
  async filesUnder(rel: string): Promise<string[]> {
    const out: string[] = [];
    for (const entry of await this.list(rel)) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (!this.claim(child, entry)) continue;
      if (entry.kind === 'dir') out.push(...(await this.filesUnder(child)));
      else out.push(child);
    }
    return out;
  }

  private async entry(dir: string, rel: string, dirent: Dirent): Promise<Entry | undefined> {
    const file = rel ? `${rel}/${dirent.name}` : dirent.name;
    const full = path.join(dir, dirent.name);
    try {
      const s = await stat(full);
      if (s.isFile() || s.isDirectory()) return { name: dirent.name, kind: s.isFile() ? 'file' : 'dir', identity: `${s.dev}:${s.ino}` };
      this.rejects.push({ file, ...entryFlaw('other') });
    } catch (error) {
      const link = dirent.isSymbolicLink() ? await readlink(full).catch(() => undefined) : undefined;
      this.rejects.push({ file, ...(link === undefined ? entryFlaw('unreadable', codeOf(error)) : linkFlaw(link, codeOf(error))) });
    }
    return undefined;
  }
}

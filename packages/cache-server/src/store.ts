import { randomBytes } from 'node:crypto';
import type { ReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { EntryIndex } from './entry-index.ts';
import { isValidHash } from './hash.ts';

/**
 * Uploads are written to `<dir>/.upload-<hash>.<random>` first. The leading
 * dot and the `.` separators can never appear in a valid hash, so a temp file
 * is never mistaken for (or served as) an entry, even if the server dies
 * before it cleans up.
 */
const TEMP_PREFIX = '.upload-';

export class EntryTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`entry exceeds the limit of ${limit} bytes`);
  }
}

export class IncompleteUploadError extends Error {
  constructor(
    readonly received: number,
    readonly expected: number,
  ) {
    super(`upload ended after ${received} of ${expected} bytes`);
  }
}

export type WriteOutcome = 'stored' | 'exists';

export interface OpenEntry {
  size: number;
  stream: ReadStream;
}

/** Cache entries as plain files in one directory, with LRU eviction by total size. */
export class DiskStore {
  private readonly index = new EntryIndex();

  constructor(
    readonly dir: string,
    private readonly maxTotalBytes: number,
  ) {}

  stats(): { entries: number; bytes: number } {
    return { entries: this.index.entries, bytes: this.index.bytes };
  }

  /** Create the directory, drop temp files left by a crash, load the index, enforce the limit. */
  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    const found: { hash: string; size: number; mtimeMs: number }[] = [];
    for (const dirent of await fsp.readdir(this.dir, { withFileTypes: true })) {
      const path = join(this.dir, dirent.name);
      if (dirent.name.startsWith(TEMP_PREFIX)) {
        await fsp.rm(path, { force: true });
      } else if (dirent.isFile() && isValidHash(dirent.name)) {
        const stat = await fsp.stat(path);
        found.push({ hash: dirent.name, size: stat.size, mtimeMs: stat.mtimeMs });
      }
      // Anything else is not ours: leave it alone and do not count it.
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const entry of found) this.index.add(entry.hash, entry.size);
    await this.evict();
  }

  async exists(hash: string): Promise<boolean> {
    try {
      return (await fsp.stat(this.entryPath(hash))).isFile();
    } catch (error) {
      if (isCode(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /**
   * Open an entry for streaming, or null if it is missing. Opening before
   * stat-ing means a concurrent eviction cannot make us send a short body:
   * the open descriptor keeps the unlinked file readable.
   */
  async open(hash: string): Promise<OpenEntry | null> {
    const path = this.entryPath(hash);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, 'r');
    } catch (error) {
      if (isCode(error, 'ENOENT')) return null;
      throw error;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) {
        await handle.close();
        return null;
      }
      this.recordAccess(hash, path);
      return { size: stat.size, stream: handle.createReadStream() };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Stream `body` into a temp file and publish it as `hash` only if exactly
   * `expectedBytes` arrived. Publishing uses link(2), which fails with EEXIST
   * instead of replacing, so of two racing uploads exactly one wins and the
   * stored entry is always one complete body.
   */
  async write(
    hash: string,
    body: AsyncIterable<Buffer>,
    expectedBytes: number,
    maxBytes: number,
  ): Promise<WriteOutcome> {
    const tempPath = join(this.dir, `${TEMP_PREFIX}${hash}.${randomBytes(8).toString('hex')}`);
    const handle = await fsp.open(tempPath, 'wx', 0o644);
    try {
      let received = 0;
      try {
        for await (const chunk of body) {
          received += chunk.length;
          if (received > maxBytes) throw new EntryTooLargeError(maxBytes);
          await writeAll(handle, chunk);
        }
        if (received !== expectedBytes) throw new IncompleteUploadError(received, expectedBytes);
        // Flush before publishing, so a power cut cannot leave a published but empty entry.
        await handle.sync();
      } finally {
        await handle.close();
      }
      const outcome = await publish(tempPath, this.entryPath(hash));
      if (outcome === 'stored') {
        this.index.add(hash, received);
        await this.evict();
      }
      return outcome;
    } finally {
      await fsp.rm(tempPath, { force: true });
    }
  }

  /** Delete least recently used entries until the total fits the limit. */
  private async evict(): Promise<void> {
    while (this.index.bytes > this.maxTotalBytes) {
      const oldest = this.index.popOldest();
      if (!oldest) break;
      await fsp.rm(this.entryPath(oldest.hash), { force: true });
    }
  }

  private recordAccess(hash: string, path: string): void {
    // touch, not add: an entry missing from the index is being evicted right now.
    this.index.touch(hash);
    // Persist the access time in the mtime so LRU order survives a restart
    // (atime is unreliable under relatime/noatime). Best effort: the file may
    // be evicted meanwhile.
    const now = new Date();
    fsp.utimes(path, now, now).catch(() => {});
  }

  private entryPath(hash: string): string {
    if (!isValidHash(hash)) throw new Error(`invalid hash reached the store: ${JSON.stringify(hash)}`);
    return join(this.dir, hash);
  }
}

async function publish(tempPath: string, finalPath: string): Promise<WriteOutcome> {
  try {
    await fsp.link(tempPath, finalPath);
    return 'stored';
  } catch (error) {
    if (isCode(error, 'EEXIST')) return 'exists';
    // Filesystems without hard links: fall back to check-then-rename. Only the
    // race of two simultaneous uploads of one hash is weaker there (the last
    // complete body wins, still never a partial one).
    if (isCode(error, 'EPERM') || isCode(error, 'ENOTSUP') || isCode(error, 'EOPNOTSUPP')) {
      if (await fileExists(finalPath)) return 'exists';
      await fsp.rename(tempPath, finalPath);
      return 'stored';
    }
    throw error;
  }
}

async function writeAll(handle: fsp.FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await fsp.stat(path);
    return true;
  } catch (error) {
    if (isCode(error, 'ENOENT')) return false;
    throw error;
  }
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

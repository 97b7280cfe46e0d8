import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskStore, EntryTooLargeError, IncompleteUploadError } from '../src/store.ts';
import { cleanup, tempDir } from './helpers.ts';

afterEach(cleanup);

async function* chunks(...parts: Buffer[]): AsyncIterable<Buffer> {
  for (const part of parts) {
    await new Promise((resolve) => setImmediate(resolve));
    yield part;
  }
}

describe('DiskStore', () => {
  it('publishes with no-replace semantics: of two racing writes exactly one is stored, intact', async () => {
    const dir = tempDir();
    const store = new DiskStore(dir, 1e9);
    await store.init();
    const a = randomBytes(100_000);
    const b = randomBytes(100_000);
    // Neither write checks for the other first, so this exercises the link(2) race itself.
    const outcomes = await Promise.all([
      store.write('same', chunks(a.subarray(0, 50_000), a.subarray(50_000)), a.length, 1e9),
      store.write('same', chunks(b.subarray(0, 50_000), b.subarray(50_000)), b.length, 1e9),
    ]);
    expect([...outcomes].sort()).toEqual(['exists', 'stored']);
    const stored = readFileSync(join(dir, 'same'));
    expect(stored.equals(outcomes[0] === 'stored' ? a : b)).toBe(true);
    expect(readdirSync(dir)).toEqual(['same']);
    expect(store.stats()).toEqual({ entries: 1, bytes: 100_000 });
  });

  it('refuses short and oversized bodies without leaving files', async () => {
    const dir = tempDir();
    const store = new DiskStore(dir, 1e9);
    await store.init();
    await expect(store.write('short', chunks(Buffer.alloc(10)), 20, 1e9)).rejects.toBeInstanceOf(IncompleteUploadError);
    await expect(store.write('big', chunks(Buffer.alloc(60), Buffer.alloc(60)), 120, 100)).rejects.toBeInstanceOf(
      EntryTooLargeError,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('ignores foreign files and removes only its own temp files at startup', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.upload-abc.0123'), 'partial');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    writeFileSync(join(dir, 'entry1'), 'data');
    const store = new DiskStore(dir, 1e9);
    await store.init();
    expect(readdirSync(dir).sort()).toEqual(['entry1', 'notes.txt']);
    expect(store.stats()).toEqual({ entries: 1, bytes: 4 });
    expect(await store.open('nope')).toBeNull();
  });
});

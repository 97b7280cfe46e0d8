/**
 * Resumable attacks: every finished batch is also saved as a small Arrow file in
 * `<out>.partial/`, under a key of everything that determines its bytes: the configuration (attack,
 * model, buckets, batch size) and the code (codeHash: the attacks and core sources and the npm
 * packages they use). A rerun after a kill (the paper's setting takes hours on a CPU) takes the
 * saved batches and attacks only the rest; the final adversarial.arrow is byte-identical to an
 * uninterrupted run. Saved batches under another key (a changed configuration, an upgrade) are
 * discarded; a damaged one (truncated, unreadable, other images) is discarded with those after it,
 * and they are attacked again. The folder is removed once the output is complete.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { AdversarialArtifact, configHash, log, readArtifact, writeArtifactBatches, writeFileAtomic, type Batch } from '@gradsign/core';
import type { z } from 'zod';
import { codeHash } from './code-hash.ts';

type AdversarialBatch = Batch<typeof AdversarialArtifact.columns>;
type AdversarialMeta = z.input<typeof AdversarialArtifact.metadata>;

/** What the saved batches were computed from; stored as JSON in `<out>.partial/key`. */
interface CheckpointKey {
  config: string;
  code: string;
}

const KEY_FILE = 'key';

async function readKey(dir: string): Promise<Partial<CheckpointKey> | undefined> {
  const text = await readFile(path.join(dir, KEY_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const key: unknown = JSON.parse(text);
    return key && typeof key === 'object' ? (key as Partial<CheckpointKey>) : {};
  } catch {
    return {}; // a key of an older gradsign (a bare hash) or a damaged one
  }
}

/** Why saved batches under `previous` cannot be reused with `current`, or undefined when they can. */
function whyStale(previous: Partial<CheckpointKey>, current: CheckpointKey): string | undefined {
  if (previous.code !== current.code) return 'the attacks or core code (or an npm package they use) is not the code that saved them';
  if (previous.config !== current.config) return 'the attack, model, buckets or batch size changed since they were saved';
  return undefined;
}

export class Checkpoint {
  /** Loads run one at a time, in batch order, so a damaged batch is found before any later one is used. */
  private loading: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly meta: AdversarialMeta,
    private readonly pixels: number,
    private savedCount: number,
  ) {}

  /** Opens `<outDir>.partial`; saved batches count only when their key matches `identity` and this code. */
  static async open(outDir: string, identity: unknown, meta: AdversarialMeta, pixels: number): Promise<Checkpoint> {
    const dir = `${outDir}.partial`;
    const key: CheckpointKey = { config: configHash(identity), code: await codeHash() };
    const previous = await readKey(dir);
    const stale = previous && whyStale(previous, key);
    let saved = 0;
    if (previous && !stale) {
      const names = new Set(await readdir(dir));
      while (names.has(chunkName(saved))) saved++;
      if (saved > 0) log(`resuming: ${saved} batch(es) were finished by an interrupted run (${dir})`);
    } else {
      if (stale) log(`discarding the batches saved in ${dir}: ${stale}; every batch is attacked again`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(path.join(dir, KEY_FILE), JSON.stringify(key));
    }
    return new Checkpoint(dir, meta, pixels, saved);
  }

  /** Batches saved by an earlier, interrupted run (fewer once a damaged one has been discarded). */
  get saved(): number {
    return this.savedCount;
  }

  /**
   * Saved batch `index` if it holds exactly the images `ids`, else undefined (then attack it). A
   * batch that cannot be read or holds other images is discarded with every batch after it.
   */
  load(index: number, ids: Int32Array): Promise<AdversarialBatch | undefined> {
    const loaded = this.loading.then(() => this.loadInOrder(index, ids));
    this.loading = loaded.catch(() => undefined);
    return loaded;
  }

  private async loadInOrder(index: number, ids: Int32Array): Promise<AdversarialBatch | undefined> {
    if (index >= this.savedCount) return undefined;
    const file = path.join(this.dir, chunkName(index));
    let problem: string;
    try {
      const batch = await readBatch(file);
      if (sameIds(batch.id, ids)) return batch;
      problem = 'its image ids are not those of buckets.arrow at this position';
    } catch (error) {
      problem = (error as Error).message;
    }
    log(
      `warning: saved batch ${file} is damaged (${problem}); ` +
        `discarding it and the ${this.savedCount - index - 1} saved after it; they are attacked again`,
    );
    await this.discardFrom(index);
    return undefined;
  }

  private async discardFrom(index: number): Promise<void> {
    for (let i = index; i < this.savedCount; i++) await rm(path.join(this.dir, chunkName(i)), { force: true });
    this.savedCount = index;
  }

  /** Saves batch `index` (written atomically, so a kill mid-write leaves no chunk). */
  async save(index: number, batch: AdversarialBatch): Promise<void> {
    await writeArtifactBatches(AdversarialArtifact, path.join(this.dir, chunkName(index)), this.meta, { image: this.pixels }, [batch]);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function readBatch(file: string): Promise<AdversarialBatch> {
  const reader = await readArtifact(AdversarialArtifact, file);
  try {
    return await reader.readAll();
  } finally {
    await reader.close();
  }
}

const sameIds = (a: Int32Array, b: Int32Array) => a.length === b.length && a.every((id, i) => id === b[i]);

const chunkName = (index: number) => `batch-${String(index).padStart(6, '0')}.arrow`;

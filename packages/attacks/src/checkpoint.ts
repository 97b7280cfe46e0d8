/**
 * Resumable attacks: every finished batch is also saved as a small Arrow file in
 * `<out>.partial/`, keyed by everything that determines its bytes. A rerun after a kill (the
 * paper's setting takes hours on a CPU) takes the saved batches and attacks only the rest; the
 * final adversarial.arrow is byte-identical to an uninterrupted run. The folder is removed once the
 * output is complete.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AdversarialArtifact, configHash, log, readArtifact, writeArtifactBatches, type Batch } from '@gradsign/core';
import type { z } from 'zod';

type AdversarialBatch = Batch<typeof AdversarialArtifact.columns>;
type AdversarialMeta = z.input<typeof AdversarialArtifact.metadata>;

export class Checkpoint {
  private constructor(
    private readonly dir: string,
    private readonly meta: AdversarialMeta,
    private readonly pixels: number,
    /** Batches saved by an earlier, interrupted run with the same key. */
    readonly saved: number,
  ) {}

  /** Opens `<outDir>.partial`; saved batches count only when their key matches `identity`. */
  static async open(outDir: string, identity: unknown, meta: AdversarialMeta, pixels: number): Promise<Checkpoint> {
    const dir = `${outDir}.partial`;
    const key = configHash(identity);
    const previous = await readFile(path.join(dir, 'key'), 'utf8').catch(() => undefined);
    let saved = 0;
    if (previous === key) {
      const names = new Set(await readdir(dir));
      while (names.has(chunkName(saved))) saved++;
      if (saved > 0) log(`resuming: ${saved} batch(es) were finished by an interrupted run (${dir})`);
    } else {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'key'), key);
    }
    return new Checkpoint(dir, meta, pixels, saved);
  }

  async load(index: number): Promise<AdversarialBatch> {
    const reader = await readArtifact(AdversarialArtifact, path.join(this.dir, chunkName(index)));
    try {
      return await reader.readAll();
    } finally {
      await reader.close();
    }
  }

  /** Saves batch `index` (written atomically, so a kill mid-write leaves no chunk). */
  async save(index: number, batch: AdversarialBatch): Promise<void> {
    await writeArtifactBatches(AdversarialArtifact, path.join(this.dir, chunkName(index)), this.meta, { image: this.pixels }, [batch]);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

const chunkName = (index: number) => `batch-${String(index).padStart(6, '0')}.arrow`;

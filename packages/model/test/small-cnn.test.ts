import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDir, saveLayersModel, selectBackend, tf } from '@gradsign/core/tf';
import { buildSmallCnn } from '../src/small-cnn.ts';

let dir: string;
beforeAll(async () => {
  await selectBackend('wasm', { quiet: true });
  dir = await mkdtemp(path.join(os.tmpdir(), 'gradsign-model-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('the default CNN', () => {
  it('has the reference architecture: conv32-pool-conv64-pool-fc128-fc10 with logits out', () => {
    const model = buildSmallCnn({ height: 28, width: 28, channels: 1 }, 10, 0);
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense']);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    expect(model.countParams()).toBe(32 * 9 + 32 + 64 * 32 * 9 + 64 + 1600 * 128 + 128 + 1290);
    model.dispose();
  });

  it('initialises identically for the same seed and differently for another', () => {
    const weights = (seed: number) => {
      const m = buildSmallCnn({ height: 28, width: 28, channels: 1 }, 10, seed);
      const w = m.getWeights()[0]!.dataSync().slice();
      m.dispose();
      return w;
    };
    expect(weights(3)).toEqual(weights(3));
    expect(weights(3)).not.toEqual(weights(4));
  });

  it('saves to a directory and loads back with bit-identical predictions (no tfjs-node)', async () => {
    const model = buildSmallCnn({ height: 28, width: 28, channels: 1 }, 10, 1);
    await saveLayersModel(model, dir);
    const loaded = await loadModelDir(dir);
    expect(loaded.kind).toBe('layers');
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 5);
    const before = (model.predict(x) as tf.Tensor).dataSync();
    const after = (loaded.model.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths).toEqual(['weights.bin']);
    model.dispose();
    loaded.model.dispose();
    x.dispose();
  });
});

/** Tiny models and batches for the attack tests; everything is built here, nothing is downloaded. */
import { Rng, type ModelSpec } from '@gradsign/core';
import { initWasm, tf } from '@gradsign/core/tf';
import { attackModelFromLayers, type AttackBatch, type AttackModel, type GradientOption } from '../src/index.ts';

export type TestBackend = 'wasm' | 'cpu';

/** Switches the process to `backend` (tests run each file in its own process). */
export async function useBackend(backend: TestBackend): Promise<void> {
  if (backend === 'wasm') {
    if (!(await initWasm())) throw new Error('wasm backend failed to initialise');
  } else {
    await tf.setBackend('cpu');
  }
  await tf.ready();
  tf.enableProdMode();
}

export function unitSpec(height: number, width: number, channels: 1 | 3, extra: Partial<ModelSpec> = {}): ModelSpec {
  return { height, width, channels, normalization: 'unit', output: 'logits', labelOffset: 0, ...extra };
}

/** conv(4, 3×3, relu) → maxpool 2 → conv(6, 3×3 same, relu) → maxpool 2 → flatten → dense(8, relu) → dense(classes). */
export function tinyCnn(height: number, width: number, channels: number, classes: number, seed = 1): tf.Sequential {
  let s = seed * 97;
  const init = () => tf.initializers.glorotUniform({ seed: s++ });
  const bias = () => tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: s++ });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [height, width, channels], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: init(), biasInitializer: bias() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(), biasInitializer: bias() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(), biasInitializer: bias() }),
      tf.layers.dense({ units: classes, kernelInitializer: init(), biasInitializer: bias() }),
    ],
  });
}

export function tinyAttackModel(gradient: GradientOption = 'auto', classes = 5, spec: Partial<ModelSpec> = {}): AttackModel {
  return attackModelFromLayers(tinyCnn(10, 10, 1, classes), unitSpec(10, 10, 1, spec), classes, gradient);
}

/** A batch of float32 pixels (what the tests build). */
export type FloatBatch = AttackBatch & { pixels: Float32Array };

/** n seeded images in [0,1] (with some exact 0s and 1s, to exercise clipping), labels, and a fake top-5. */
export function makeBatch(n: number, pixelsPerImage: number, classes: number, seed = 3, firstId = 100): FloatBatch {
  const rng = new Rng(seed);
  const pixels = new Float32Array(n * pixelsPerImage);
  for (let i = 0; i < pixels.length; i++) {
    const u = rng.next();
    pixels[i] = u < 0.1 ? 0 : u > 0.9 ? 1 : rng.next();
  }
  const k = Math.min(5, classes);
  const labels = Int32Array.from({ length: n }, () => rng.int(classes));
  const top5 = new Int32Array(n * k);
  for (let i = 0; i < n; i++) {
    const order = rng.shuffle(Array.from({ length: classes }, (_, c) => c).filter((c) => c !== labels[i]));
    top5.set([labels[i]!, ...order.slice(0, k - 1)], i * k);
  }
  return { ids: Int32Array.from({ length: n }, (_, i) => firstId + i * 7), labels, top5, pixels };
}

export function sliceBatch(b: FloatBatch, start: number, end: number): FloatBatch {
  const per = b.pixels.length / b.ids.length;
  const k = b.top5.length / b.ids.length;
  return {
    ids: b.ids.slice(start, end),
    labels: b.labels.slice(start, end),
    top5: b.top5.slice(start * k, end * k),
    pixels: b.pixels.slice(start * per, end * per),
  };
}

export function bytes(a: Float32Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Probabilities [n·classes] of a batch. */
export function probs(model: AttackModel, pixels: Float32Array, n: number): Float32Array {
  return tf.tidy(() => tf.exp(model.logProbs(tf.tensor4d(pixels, [n, model.height, model.width, model.channels]))).dataSync() as Float32Array);
}

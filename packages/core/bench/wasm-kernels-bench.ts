/**
 * FGSM input-gradient step on the wasm backend: stock kernels vs the
 * replacements from src/tf/kernels/ (registry.ts).
 *
 *   npx tsx packages/core/bench/wasm-kernels-bench.ts [batch=256] [runs=5]
 *
 * Model: the default CNN (conv32 3x3 valid, relu, maxpool2, conv64 3x3 valid,
 * relu, maxpool2, flatten, dense128 relu, dense10 logits) on 28x28x1 inputs.
 * One step = tf.grad of the summed softmax cross-entropy w.r.t. the input,
 * then x + ε·sign(grad) clipped to [0, 1]. Prints the median of `runs` timed
 * steps (after one warm-up step) in images per second for each variant.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { registerWasmKernels, unregisterWasmKernels } from '../src/tf/kernels/registry.ts';

const batch = Number(process.argv[2] ?? 256);
const runs = Number(process.argv[3] ?? 5);
const EPSILON = 0.1;

const require = createRequire(import.meta.url);
setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
await tf.setBackend('wasm');
await tf.ready();

function buildModel(): tf.LayersModel {
  let seed = 1;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init() }),
      tf.layers.dense({ units: 10, kernelInitializer: init() }),
    ],
  });
}

const model = buildModel();
const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 42) as tf.Tensor4D;
const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 43) as tf.Tensor1D, 10);

function fgsmStep(): { adv: tf.Tensor; grad: tf.Tensor } {
  return tf.tidy(() => {
    const lossOf = (input: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(labels, model.apply(input) as tf.Tensor, undefined, undefined, tf.Reduction.SUM);
    const grad = tf.grad(lossOf)(x);
    const adv = x.add(grad.sign().mul(EPSILON)).clipByValue(0, 1);
    return { adv, grad };
  });
}

function measure(): { imgPerSec: number; grad: Float32Array } {
  const warm = fgsmStep();
  const grad = warm.grad.dataSync() as Float32Array;
  tf.dispose([warm.adv, warm.grad]);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const { adv, grad: g } = fgsmStep();
    adv.dataSync(); // wasm kernels are synchronous; this just makes the cost explicit
    times.push(performance.now() - t0);
    tf.dispose([adv, g]);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { imgPerSec: (batch * 1000) / median, grad };
}

console.log(`wasm backend, ${getThreadsCount()} thread(s), SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, batch ${batch}, median of ${runs}`);

unregisterWasmKernels(); // make sure the stock kernels are in place
const stock = measure();
console.log(`stock kernels:    ${stock.imgPerSec.toFixed(0)} img/s`);

registerWasmKernels();
const replaced = measure();
console.log(`replaced kernels: ${replaced.imgPerSec.toFixed(0)} img/s (${(replaced.imgPerSec / stock.imgPerSec).toFixed(2)}x)`);

let maxDiff = 0;
let maxAbs = 0;
for (let i = 0; i < stock.grad.length; i++) {
  maxDiff = Math.max(maxDiff, Math.abs(stock.grad[i] - replaced.grad[i]));
  maxAbs = Math.max(maxAbs, Math.abs(stock.grad[i]));
}
console.log(`input gradient max |stock - replaced| = ${maxDiff.toExponential(2)} (max |grad| = ${maxAbs.toExponential(2)})`);

// Conv2DBackpropInput alone, by dx channel count: where the replacement switches from matmul +
// col2im (few channels, COL2IM_MAX_CHANNELS) to the forward conv with the rotated filter.
console.log(`\nConv2DBackpropInput, 3x3 valid, dy [${batch}, 24, 24, 32] → dx with c channels (median ms):`);
for (const channels of [1, 3, 4, 32]) {
  const dy = tf.randomNormal([batch, 24, 24, 32], 0, 1, 'float32', 7) as tf.Tensor4D;
  const filter = tf.randomNormal([3, 3, channels, 32], 0, 1, 'float32', 8) as tf.Tensor4D;
  const time = () => {
    const times: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const t0 = performance.now();
      tf.tidy(() => tf.conv2dTranspose(dy, filter, [batch, 26, 26, channels], 1, 'valid').dataSync());
      if (i > 0) times.push(performance.now() - t0); // the first run is a warm-up
    }
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  };
  unregisterWasmKernels();
  const stockMs = time();
  registerWasmKernels();
  console.log(`  c = ${String(channels).padStart(2)}: stock ${stockMs.toFixed(1)}, replaced ${time().toFixed(1)}`);
  tf.dispose([dy, filter]);
}

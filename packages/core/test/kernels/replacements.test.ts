/**
 * The wasm kernel replacements (src/tf/kernels/registry.ts) against the tfjs 'cpu'
 * backend as reference, on seeded random inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmKernels, unregisterWasmKernels } from '../../src/tf/kernels/registry.ts';

const REPLACED = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'BatchMatMul'];

beforeAll(async () => {
  const require = createRequire(import.meta.url);
  setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
  // Registered before the backend initialises on purpose: the replacements must
  // then run the stock kernels' setup (their fallback paths need it).
  registerWasmKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.ready();
});

/** Deterministic uniform values in [-0.5, 0.5) (LCG). */
function seeded(seed: number) {
  let s = seed >>> 0;
  return (n: number, map: (v: number) => number = (v) => v): Float32Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = map(s / 2 ** 32 - 0.5);
    }
    return out;
  };
}

/** Runs `fn` on `backend` and returns copies of the outputs' values. */
function on(backend: 'wasm' | 'cpu', fn: () => tf.Tensor[]): Float32Array[] {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  try {
    return tf.tidy(fn).map((t) => {
      const values = Float32Array.from(t.dataSync());
      t.dispose();
      return values;
    });
  } finally {
    tf.setBackend(previous);
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** max |actual − expected| relative to max |expected|. */
function relError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let m = 0;
  for (let i = 0; i < actual.length; i++) m = Math.max(m, Math.abs(actual[i] - expected[i]));
  return m / Math.max(maxAbs(expected), 1e-6);
}

function expectClose(actual: Float32Array[], expected: Float32Array[], tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(relError(a, expected[i])).toBeLessThan(tol));
}

function expectBitEqual(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  // Object.is distinguishes NaN/NaN (equal) and 0/-0; compare as a list for a readable failure.
  const mismatches: string[] = [];
  for (let i = 0; i < actual.length && mismatches.length < 5; i++) {
    if (!Object.is(actual[i], expected[i])) mismatches.push(`[${i}] ${actual[i]} != ${expected[i]}`);
  }
  expect(mismatches).toEqual([]);
}

type Pad = 'valid' | 'same' | number;

describe('registration', () => {
  it('registers every replacement for wasm', () => {
    for (const name of REPLACED) expect(tf.getKernel(name, 'wasm')).toBeDefined();
  });

  it('is idempotent and reversible', () => {
    const before = REPLACED.map((name) => tf.getKernel(name, 'wasm'));
    registerWasmKernels();
    registerWasmKernels();
    expect(REPLACED.map((name) => tf.getKernel(name, 'wasm'))).toEqual(before);

    unregisterWasmKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined(); // missing in stock tfjs-backend-wasm
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')).toBeUndefined(); // likewise
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropFilter', 'wasm')).toBeUndefined();
    const stockMaxPoolGrad = tf.getKernel('MaxPoolGrad', 'wasm');
    expect(stockMaxPoolGrad).toBeDefined();
    expect(stockMaxPoolGrad).not.toBe(before[REPLACED.indexOf('MaxPoolGrad')]);

    registerWasmKernels();
    for (const name of REPLACED) expect(tf.getKernel(name, 'wasm')).toBeDefined();
  });
});

describe('depthwise conv gradients (DepthwiseConv2dNativeBackpropInput / Filter)', () => {
  // [batch, height, width, channels, depth multiplier, kernel, stride, pad]
  const cases: [number, number, number, number, number, number, number, Pad][] = [
    [3, 7, 7, 2, 1, 3, 1, 'valid'],
    [2, 7, 8, 3, 2, 3, 2, 'same'],
    [2, 6, 6, 4, 3, 2, 1, 'same'],
    [1, 9, 7, 2, 2, 5, 3, 'same'],
    [2, 6, 7, 2, 2, 3, 1, 1], // numeric padding
  ];
  it.each(cases)('x[%i,%i,%i,%i] multiplier %i k%i stride %i pad %s', (n, h, w, c, m, k, s, pad) => {
    const rand = seeded(n * 1000 + h * 100 + c * 10 + m);
    const xv = rand(n * h * w * c);
    const fv = rand(k * k * c * m);
    const compute = () => {
      const loss = (x: tf.Tensor, filter: tf.Tensor) => {
        const y = tf.depthwiseConv2d(x as tf.Tensor4D, filter as tf.Tensor4D, s, pad);
        return y.square().mul(tf.linspace(1, 2, y.size).reshape(y.shape)).sum();
      };
      return tf.grads(loss)([tf.tensor4d(xv, [n, h, w, c]), tf.tensor4d(fv, [k, k, c, m])]);
    };
    expectClose(on('wasm', compute), on('cpu', compute), 1e-5);
  });
});

describe('Conv2D gradients (Conv2DBackpropInput / Conv2DBackpropFilter)', () => {
  // [batch, height, width, inChannels, outChannels, kernel, stride, pad]
  const cases: [number, number, number, number, number, number, number, Pad][] = [
    [1, 7, 7, 1, 1, 3, 1, 'valid'], // single channel in and out
    [5, 9, 8, 1, 6, 3, 1, 'same'], // col2im dx, im2col dW
    [5, 9, 8, 3, 4, 3, 2, 'valid'], // stride 2
    [2, 10, 11, 2, 5, 3, 2, 'same'],
    [5, 8, 8, 6, 1, 3, 1, 'valid'], // one output channel; conv dx
    [5, 8, 7, 6, 5, 3, 1, 'same'], // conv dx
    [2, 10, 10, 12, 3, 3, 2, 'valid'], // conv-based dW, last input row unused (negative pad)
    [5, 9, 9, 12, 7, 3, 1, 'same'], // conv-based dW
    [1, 9, 9, 10, 4, 5, 3, 'same'], // stride 3, 5x5
    [2, 6, 7, 2, 3, 3, 1, 1], // numeric padding
    [2, 6, 7, 9, 3, 3, 1, 1],
    [3, 8, 8, 4, 2, 2, 2, 'valid'],
  ];
  it.each(cases)('x[%i,%i,%i,%i] filters %i k%i stride %i pad %s', (n, h, w, ci, co, k, s, pad) => {
    const rand = seeded(n * 1000 + h * 100 + ci * 10 + co);
    const xv = rand(n * h * w * ci);
    const fv = rand(k * k * ci * co);
    const compute = () => {
      const x = tf.tensor4d(xv, [n, h, w, ci]);
      const filter = tf.tensor4d(fv, [k, k, ci, co]);
      const loss = (a: tf.Tensor, b: tf.Tensor) => {
        const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad);
        // Non-uniform upstream gradient: dL/dy = 2y·weight, weight in [1, 2].
        return y.square().mul(tf.linspace(1, 2, y.size).reshape(y.shape)).sum();
      };
      return tf.grads(loss)([x, filter]);
    };
    expectClose(on('wasm', compute), on('cpu', compute));
  });

  it('conv2dTranspose (Conv2DBackpropInput as a forward op) matches cpu', () => {
    const rand = seeded(99);
    const dyv = rand(3 * 5 * 5 * 8);
    const fv = rand(3 * 3 * 4 * 8);
    const compute = () => [
      tf.conv2dTranspose(tf.tensor4d(dyv, [3, 5, 5, 8]), tf.tensor4d(fv, [3, 3, 4, 8]), [3, 11, 11, 4], 2, 'valid'),
      tf.conv2dTranspose(tf.tensor4d(dyv, [3, 5, 5, 8]), tf.tensor4d(fv, [3, 3, 4, 8]), [3, 5, 5, 4], 1, 'same'),
    ];
    expectClose(on('wasm', compute), on('cpu', compute));
  });

  it('Conv2DBackpropFilter supports NCHW', () => {
    const rand = seeded(8);
    const xv = rand(2 * 3 * 9 * 8);
    const dyv = rand(2 * 4 * 4 * 3);
    const compute = () => [
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(xv, [2, 3, 9, 8]), dy: tf.tensor4d(dyv, [2, 4, 4, 3]) },
        { strides: 2, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor,
    ];
    expectClose(on('wasm', compute), on('cpu', compute));
  });

  it('falls back to the stock kernel for NCHW', () => {
    const rand = seeded(7);
    const dyv = rand(2 * 3 * 4 * 4);
    const fv = rand(3 * 3 * 2 * 3);
    const compute = () => [
      tf.engine().runKernel(
        'Conv2DBackpropInput',
        { dy: tf.tensor4d(dyv, [2, 3, 4, 4]), filter: tf.tensor4d(fv, [3, 3, 2, 3]) },
        { strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 2, 4, 4] } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor,
    ];
    expectClose(on('wasm', compute), on('cpu', compute));
  });
});

describe('MaxPoolGrad', () => {
  // [batch, height, width, channels, filter, stride, pad, values]
  type Values = 'random' | 'quantized' | 'relu' | 'nan-inf';
  const cases: [number, number, number, number, number, number, Pad, Values][] = [
    [2, 8, 8, 3, 2, 2, 'valid', 'random'],
    [2, 8, 8, 3, 2, 2, 'valid', 'quantized'], // many ties
    [5, 9, 7, 4, 2, 2, 'valid', 'relu'], // odd sizes (unused last row/column), ties at 0
    [1, 6, 6, 2, 2, 2, 'valid', 'nan-inf'],
    [2, 9, 7, 3, 3, 2, 'same', 'quantized'], // overlapping windows, clipped at borders
    [1, 9, 9, 2, 3, 1, 'same', 'quantized'],
    [2, 7, 8, 3, 2, 2, 'same', 'relu'],
    [2, 10, 10, 3, 3, 3, 'valid', 'nan-inf'],
  ];
  const valuesOf = (kind: Values, rand: ReturnType<typeof seeded>, size: number): Float32Array => {
    switch (kind) {
      case 'random':
        return rand(size);
      case 'quantized':
        return rand(size, (v) => Math.round(v * 4));
      case 'relu':
        return rand(size, (v) => Math.max(0, v));
      case 'nan-inf':
        return rand(size, (v) => (v > 0.3 ? NaN : v < -0.3 ? -Infinity : Math.round(v * 4)));
    }
  };

  it.each(cases)('x[%i,%i,%i,%i] pool %i stride %i %s, %s values: bit-identical to cpu', (n, h, w, c, f, s, pad, kind) => {
    const rand = seeded(n * 1000 + h * 100 + c * 10 + f);
    const xv = valuesOf(kind, rand, n * h * w * c);
    const { outShape } = tf.backend_util.computePool2DInfo([n, h, w, c], f, s, 1, pad);
    const dyv = rand(outShape.reduce((a, b) => a * b, 1));
    // The kernel directly, so NaN/-Infinity inputs reach it unchanged.
    const compute = () => {
      const input = tf.tensor4d(xv, [n, h, w, c]);
      const output = tf.maxPool(input, f, s, pad);
      const dy = tf.tensor(dyv, outShape);
      const attrs = { filterSize: f, strides: s, pad } as unknown as tf.NamedAttrMap;
      return [tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, attrs) as tf.Tensor];
    };
    expectBitEqual(on('wasm', compute)[0], on('cpu', compute)[0]);
  });

  it('tf.grad through maxPool matches cpu exactly on quantized inputs', () => {
    const rand = seeded(5);
    const xv = rand(4 * 12 * 12 * 3, (v) => Math.round(v * 3));
    const weights = rand(4 * 6 * 6 * 3); // upstream gradient, exactly representable on both backends
    const compute = () => {
      const x = tf.tensor4d(xv, [4, 12, 12, 3]);
      const weight = tf.tensor4d(weights, [4, 6, 6, 3]);
      return [tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid').mul(weight).sum())(x)];
    };
    expectBitEqual(on('wasm', compute)[0], on('cpu', compute)[0]);
  });
});

describe('BatchMatMul (dense layer backward)', () => {
  it.each([
    [1, 7, 3],
    [5, 20, 10],
    [64, 300, 128],
  ])('dense layer [%i x %i] -> %i: gradients match cpu', (batch, inputs, units) => {
    const rand = seeded(batch + inputs + units);
    const xv = rand(batch * inputs);
    const wv = rand(inputs * units);
    const bv = rand(units);
    const compute = () => {
      const x = tf.tensor2d(xv, [batch, inputs]);
      const w = tf.tensor2d(wv, [inputs, units]);
      const b = tf.tensor1d(bv);
      const loss = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
        tf.relu(tf.matMul(a as tf.Tensor2D, k as tf.Tensor2D).add(c)).square().sum();
      return tf.grads(loss)([x, w, b]);
    };
    expectClose(on('wasm', compute), on('cpu', compute));
  });

  it('transposed operands, batched and broadcast, match cpu', () => {
    const rand = seeded(11);
    const av = rand(3 * 6 * 4);
    const bv = rand(3 * 4 * 5);
    const compute = () => {
      const a = tf.tensor3d(av, [3, 6, 4]);
      const b = tf.tensor3d(bv, [3, 4, 5]);
      const aT = tf.tensor3d(av, [3, 4, 6]);
      const bT = tf.tensor3d(bv, [3, 5, 4]);
      return [
        tf.matMul(a, b),
        tf.matMul(aT, b, true, false),
        tf.matMul(a, bT, false, true),
        tf.matMul(aT, bT, true, true),
        tf.matMul(aT, tf.tensor3d(bv.subarray(0, 20), [1, 5, 4]), true, true), // broadcast b
      ];
    };
    expectClose(on('wasm', compute), on('cpu', compute));
  });
});

describe('training and memory', () => {
  function buildModel(): tf.Sequential {
    let seed = 1;
    const init = () => tf.initializers.glorotUniform({ seed: seed++ });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [10, 10, 1], filters: 10, kernelSize: 3, activation: 'relu', kernelInitializer: init() }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init() }),
        tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: init() }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
    return model;
  }

  it('a small conv net trains on wasm like on cpu (trainOnBatch)', async () => {
    const rand = seeded(2024);
    const xv = rand(8 * 10 * 10 * 1, (v) => v + 0.5);
    const labels = Array.from({ length: 8 }, (_, i) => (i * 3) % 5);

    const train = async (backend: 'wasm' | 'cpu') => {
      tf.setBackend(backend);
      const model = buildModel();
      const x = tf.tensor4d(xv, [8, 10, 10, 1]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 5);
      const first = (await model.trainOnBatch(x, y)) as number;
      const second = (await model.trainOnBatch(x, y)) as number; // depends on the first step's gradients
      const weights = model.getWeights().map((t) => Float32Array.from(t.dataSync()));
      tf.dispose([x, y]);
      model.dispose();
      return { first, second, weights };
    };
    const expected = await train('cpu');
    const actual = await train('wasm');
    tf.setBackend('wasm');

    expect(Math.abs(actual.first - expected.first)).toBeLessThan(1e-4);
    expect(Math.abs(actual.second - expected.second)).toBeLessThan(1e-4);
    expect(actual.second).not.toBe(actual.first);
    expectClose(actual.weights, expected.weights);
  });

  it('repeated gradient computations do not leak tensors or wasm buffers', () => {
    tf.setBackend('wasm');
    const rand = seeded(3);
    const x = tf.tensor4d(rand(4 * 10 * 10 * 1), [4, 10, 10, 1]);
    const k1 = tf.tensor4d(rand(3 * 3 * 1 * 10), [3, 3, 1, 10]);
    const k2 = tf.tensor4d(rand(3 * 3 * 10 * 9), [3, 3, 10, 9]);
    const k3 = tf.tensor4d(rand(3 * 3 * 9 * 4), [3, 3, 9, 4]);
    const w = tf.tensor2d(rand(4 * 5), [4, 5]);
    // Goes through every code path of the replacements.
    const loss = (...[a, f1, f2, f3, d]: tf.Tensor[]) => {
      let h = tf.relu(tf.conv2d(a as tf.Tensor4D, f1 as tf.Tensor4D, 1, 'valid')); // [4,8,8,10]: col2im dx, im2col dW
      h = tf.maxPool(h as tf.Tensor4D, 3, 1, 'same'); // overlapping windows
      h = tf.relu(tf.conv2d(h as tf.Tensor4D, f2 as tf.Tensor4D, 1, 'valid')); // [4,6,6,9]: conv dx, conv-based dW
      h = tf.conv2d(h as tf.Tensor4D, f3 as tf.Tensor4D, 2, 'valid'); // [4,2,2,4]: strided col2im dx, cropped conv-based dW
      h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid'); // [4,1,1,4]: 2x2 fast path
      return tf.matMul(tf.reshape(h, [4, 4]), d as tf.Tensor2D).square().sum(); // transposed matmuls in backward
    };
    const inputs = [x, k1, k2, k3, w];
    const step = () => tf.tidy(() => tf.grads(loss)(inputs).forEach((g) => g.dataSync()));
    step(); // warm-up (lazily created state)
    // Intermediates created inside kernels are backend buffers, not tensors:
    // count both.
    const count = () => ({ tensors: tf.memory().numTensors, wasmBuffers: tf.backend().numDataIds() });
    const before = count();
    for (let i = 0; i < 5; i++) step();
    expect(count()).toEqual(before);
    tf.dispose(inputs);
  });
});

/**
 * The model stage's gradient checks on imported models: layers/ops outside the verified list are
 * named in a warning; the directional-derivative check passes on correct gradients (verified or
 * not) and fails, naming the unverified parts, when a gradient is deliberately wrong.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GradsignError } from '@gradsign/core';
import { saveLayersModel, selectBackend, tf } from '@gradsign/core/tf';
import { buildModel } from '../src/index.ts';
import { unverifiedParts } from '../src/unverified.ts';
import { Init } from '../../../test/fixtures/layer-cases.ts';
import { graphTwinArtifacts, layersTwin } from '../../../test/fixtures/graph-twin.ts';

const CLASSES = 5;
let root: string;
let labels: string;
let threeLabels: string;

beforeAll(async () => {
  await selectBackend('wasm', { quiet: true });
  root = await mkdtemp(path.join(tmpdir(), 'gradsign-gradient-check-'));
  labels = path.join(root, 'labels.txt');
  await writeFile(labels, Array.from({ length: CLASSES }, (_, k) => `class ${k}\n`).join(''));
  threeLabels = path.join(root, 'labels3.txt');
  await writeFile(threeLabels, 'a\nb\nc\n');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** conv(relu) → [Cropping2D, when asked] → maxpool → flatten → dense(relu) → dense(logits), on 12×12×3. */
function smallModel(options: { crop?: boolean; dilation?: number } = {}): tf.LayersModel {
  const init = new Init(21);
  return tf.sequential({
    layers: [
      tf.layers.inputLayer({ inputShape: [12, 12, 3] }),
      init.conv(6, 3, { activation: 'relu', dilationRate: options.dilation ?? 1 }),
      ...(options.crop ? [tf.layers.cropping2D({ cropping: [[1, 0], [0, 1]] })] : []),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      init.dense(8, { activation: 'relu' }),
      init.dense(CLASSES),
    ],
  });
}

async function saved(name: string, model: tf.LayersModel): Promise<string> {
  const dir = path.join(root, name);
  await saveLayersModel(model, dir);
  return dir;
}

const spec = { height: 12, width: 12, channels: 3, normalization: 'unit', output: 'logits' } as const;

/** Runs the stage on the model in `dir`; returns its stderr and the error it threw, if any. */
async function importLogged(dir: string, specOverride: Record<string, unknown> = {}, labelFile = labels): Promise<{ log: string; error?: unknown }> {
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const config = { model: { kind: 'tfjs', path: dir, labels: labelFile, spec: { ...spec, ...specOverride } }, backend: 'wasm' };
    const error = await buildModel(config, path.join(root, 'no-data'), path.join(root, `out-${path.basename(dir)}-${Math.random()}`)).then(() => undefined, (e: unknown) => e);
    return { log: stderr.mock.calls.map((c) => String(c[0])).join(''), error };
  } finally {
    stderr.mockRestore();
  }
}

/** Replaces kernel `kernelName`'s gradient by `factor` × the stock one until the test ends. */
const restore: (() => void)[] = [];
function scaleGradient(kernelName: string, factor: number): void {
  const stock = tf.getGradient(kernelName);
  tf.registerGradient({
    ...stock,
    gradFunc: (dy, saved, attrs) =>
      Object.fromEntries(Object.entries(stock.gradFunc(dy, saved, attrs)).map(([input, grad]) => [input, () => tf.mul(grad(), factor)])),
  });
  restore.push(() => tf.registerGradient(stock));
}
afterEach(() => restore.splice(0).forEach((undo) => undo()));

describe('unverifiedParts', () => {
  it('names layer classes and activations of a layers model, nested models included', () => {
    const inner = tf.sequential({ layers: [tf.layers.leakyReLU({ inputShape: [4] }), tf.layers.dense({ units: 2, activation: 'selu' })] });
    const outer = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 4, activation: 'relu' }), inner, tf.layers.dense({ units: 2, activation: 'selu' })] });
    const topology = outer.toJSON(undefined, false);
    expect(unverifiedParts(topology, 'layers')).toEqual(['LeakyReLU', 'activation "selu" ×2']);
    expect(unverifiedParts(smallModel({ crop: true }).toJSON(undefined, false), 'layers')).toEqual(['Cropping2D']);
    expect(unverifiedParts(layersTwin().toJSON(undefined, false), 'layers')).toEqual([]);
  });

  it('names graph ops, fused activations included; the tested graph has none', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const topology = {
      node: [
        { name: 'x', op: 'Placeholder' },
        { name: 'c', op: '_FusedConv2D', attr: { fused_ops: { list: { s: [b64('BiasAdd'), b64('LeakyRelu')] } } } },
        { name: 'a', op: 'LeakyRelu' },
        { name: 'b', op: 'LeakyRelu' },
      ],
      library: { function: [{ nodeDef: [{ name: 'f', op: 'Cumprod' }] }] },
    };
    expect(unverifiedParts(topology, 'graph')).toEqual(['_FusedConv2D with fused LeakyRelu', 'LeakyRelu ×2', 'Cumprod']);
    expect(unverifiedParts(graphTwinArtifacts(layersTwin()).modelTopology, 'graph')).toEqual([]);
  });
});

describe('importing with the directional-derivative check', () => {
  it('a verified model imports without a warning and logs the check', async () => {
    const { log, error } = await importLogged(await saved('verified', smallModel()));
    expect(error).toBeUndefined();
    expect(log).not.toMatch(/warning/);
    expect(log).toMatch(/input gradient ok \(directional derivative -?\d.* vs central difference -?\d.* at h = 0\.002; over 8 random directions .*% of the derivatives, within 40%\)/);
  });

  it('an unverified layer with a correct gradient imports, with a warning naming it', async () => {
    const { log, error } = await importLogged(await saved('cropped', smallModel({ crop: true })));
    expect(error).toBeUndefined();
    expect(log).toMatch(/warning: the model in .*cropped uses Cropping2D, outside gradsign's verified list/);
    expect(log).toMatch(/input gradient ok \(directional derivative/);
  });

  it('a wrong gradient in an unverified layer fails the import, naming the layer', async () => {
    const dir = await saved('cropped-wrong', smallModel({ crop: true }));
    scaleGradient('Slice', 3); // Cropping2D is a Slice
    const { error } = await importLogged(dir);
    expect(error).toBeInstanceOf(GradsignError);
    expect((error as GradsignError).message).toMatch(/input gradient of the model in .*cropped-wrong is wrong on the wasm backend: along 8 random directions it disagrees with finite differences by \d+% at h = 0\.002, \d+% at h = 0\.0005/);
    expect((error as GradsignError).hint).toMatch(/uses Cropping2D, outside gradsign's verified list/);
  });

  it('a wrong gradient in a model of verified layers fails the import and says so', async () => {
    const dir = await saved('relu-wrong', smallModel());
    scaleGradient('MaxPool', -1);
    const { error } = await importLogged(dir);
    expect(error).toBeInstanceOf(GradsignError);
    expect((error as GradsignError).hint).toMatch(/every layer and op of the model is on gradsign's verified list/);
  });

  it('a graph model of verified ops (the tested twin) imports without a warning', async () => {
    const dir = path.join(root, 'twin-graph');
    const { modelTopology, weightSpecs, weightData } = graphTwinArtifacts(layersTwin());
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }] }));
    await writeFile(path.join(dir, 'weights.bin'), new Uint8Array(weightData as ArrayBuffer));
    const { log, error } = await importLogged(dir, { height: 8, width: 8, channels: 3, output: 'probabilities' }, threeLabels);
    expect(error).toBeUndefined();
    expect(log).not.toMatch(/warning/);
    expect(log).toMatch(/input gradient ok/);
  });

  it('a dilated convolution, which tfjs cannot differentiate, is named', async () => {
    const { error } = await importLogged(await saved('dilated', smallModel({ dilation: 2 })));
    expect(error).toBeInstanceOf(GradsignError);
    expect((error as GradsignError).message).toMatch(/tfjs cannot compute the input gradient .*conv2D gradient says "dilation rates greater than 1 are not yet supported/);
  });
});

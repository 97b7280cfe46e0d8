/**
 * model stage, `kind: "tfjs"`: accepts the user's TensorFlow.js model (layers or graph, from
 * tensorflowjs_converter) after checking it against model.spec and the label file, and copies it
 * with its labels and model-info.json into the stage's output directory (atomically).
 *
 * Order matters for the user: cheap checks first (label file, shard sizes, finite weights, shapes,
 * layers/ops outside the verified list: a warning), then one forward pass, one input gradient and a directional-derivative
 * check of it, then the copy. No train split is needed.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  GradsignError,
  findTestImages,
  log,
  readLabelFile,
  toUnitFloat,
  writeDirAtomic,
  writeFileAtomic,
  type ClassLabel,
  type ModelInfo,
  type TfjsModelConfig,
} from '@gradsign/core';
import { classifierFromModel, graphNodes, readModelArtifacts, tf, tidyRead, type LoadedModel } from '@gradsign/core/tf';
import type { z } from 'zod';
import { checkDirectionalDerivative } from './directional-check.ts';
import { checkFiniteWeights } from './finite-weights.ts';
import { checkInputGradient, forwardOf, probeOutputShape } from './gradient-check.ts';
import { checkInputShape, checkOutputShape, declaredOutputShape, modelInputShape } from './model-shapes.ts';
import { unverifiedParts } from './unverified.ts';

type TfjsModel = z.infer<typeof TfjsModelConfig>;
type ModelJson = Awaited<ReturnType<typeof readModelArtifacts>>['json'];

/** layers or graph, from model.json; a stated format that contradicts the file is an error. */
function resolveFormat(json: ModelJson, requested: TfjsModel['format'], file: string): 'layers' | 'graph' {
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  const detected =
    json.format === 'graph-model' || Array.isArray(topology?.node)
      ? 'graph'
      : json.format === 'layers-model' || topology?.class_name !== undefined || topology?.model_config !== undefined
        ? 'layers'
        : undefined;
  if (requested !== 'auto' && detected && requested !== detected) {
    throw new GradsignError(`model.format is "${requested}" but ${file} holds a ${detected} model`, {
      hint: `set model.format to "${detected}" or "auto"`,
    });
  }
  const format = requested === 'auto' ? detected : requested;
  if (!format) {
    throw new GradsignError(`cannot tell whether ${file} is a layers or a graph model`, { hint: 'set model.format to "layers" or "graph"' });
  }
  return format;
}

async function loadModel(artifacts: tf.io.ModelArtifacts, format: 'layers' | 'graph', dir: string): Promise<LoadedModel> {
  const handler: tf.io.IOHandler = { load: async () => artifacts };
  try {
    return format === 'graph'
      ? { kind: 'graph', model: await tf.loadGraphModel(handler), nodes: graphNodes(artifacts) }
      : { kind: 'layers', model: await tf.loadLayersModel(handler) };
  } catch (error) {
    throw new GradsignError(`could not load the ${format} model in ${dir}: ${(error as Error).message}`, {
      hint: 'set model.format to match how the model was converted, and convert it with tensorflowjs_converter (docs/bring-your-own-model.md)',
    });
  }
}

/** Shard paths of model.json, checked to stay inside the model directory. */
function shardPaths(json: ModelJson, file: string): string[] {
  const shards = (json.weightsManifest ?? []).flatMap((group) => group.paths);
  for (const shard of shards) {
    if (path.isAbsolute(shard) || shard.split(/[\\/]/).includes('..')) {
      throw new GradsignError(`${file} lists weight shard "${shard}" outside the model directory`, {
        hint: 'keep model.json and its shards in one directory, with relative shard paths',
      });
    }
  }
  return shards;
}

/**
 * Copies model.json and its shards to `outDir`, returning one sha256 over all of them, so a
 * changed model (weights or topology) changes model-info.json and everything downstream.
 */
async function copyModelFiles(srcDir: string, shards: string[], outDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const rel of ['model.json', ...shards]) {
    const bytes = await readFile(path.join(srcDir, rel));
    hash.update(`${rel}\0${bytes.length}\0`).update(bytes);
    await mkdir(path.dirname(path.join(outDir, rel)), { recursive: true });
    await writeFile(path.join(outDir, rel), bytes);
  }
  return hash.digest('hex');
}

/** The first test image (decoded from the index for an image folder) when it has the right size, else a fixed pattern. */
async function probeImage(dataDir: string, shape: [number, number, number]): Promise<{ pixels: Float32Array; source: string }> {
  const [h, w, c] = shape;
  const images = await findTestImages(dataDir);
  if (images) {
    if (images.height === h && images.width === w && images.channels === c) {
      for await (const batch of images.batches({ size: 1 })) {
        return { pixels: toUnitFloat(batch.image), source: `${images.file} (image id ${batch.id[0]})` };
      }
    }
  }
  // Smooth gradients in each channel: nothing saturates, nothing is constant.
  const pixels = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) pixels[(y * w + x) * c + k] = 0.2 + (0.6 * ((x + y + 7 * k) % (w + h))) / (w + h);
  return { pixels, source: 'a synthetic pattern' };
}

const labelLine = (l: ClassLabel) => (l.synset && l.synset !== l.name ? `${l.synset} ${l.name}` : l.name);

export async function importModel(config: TfjsModel, dataDir: string, outDir: string, backend: string): Promise<ModelInfo> {
  const { spec } = config;
  const dir = config.path;
  const modelFile = path.join(dir, 'model.json');

  // 1. Cheap checks: label file, model.json, declared shapes.
  const labels = await readLabelFile(config.labels, 'model.labels');
  const { artifacts, json } = await readModelArtifacts(dir);
  const format = resolveFormat(json, config.format, modelFile);
  const shards = shardPaths(json, modelFile);
  checkFiniteWeights(artifacts, dir);
  const loaded = await loadModel(artifacts, format, dir);
  const unverified = unverifiedParts(json.modelTopology, format);
  if (unverified.length) {
    log(
      `warning: the model in ${dir} uses ${unverified.join(', ')}, outside gradsign's verified list (packages/core/src/tf/verified-ops.ts): ` +
        'their input gradients in tfjs have not been checked against a float64 reference; the directional-derivative check below tests the model as a whole',
    );
  }
  try {
    checkInputShape(modelInputShape(loaded, dir), spec, dir);
    const forward = forwardOf(loaded);
    const declared = declaredOutputShape(loaded, dir);
    if (declared) checkOutputShape(declared, spec, labels.length, config.labels, dir);

    // 2. One forward pass (graph models rarely declare their output shape), then one input gradient.
    const input: [number, number, number] = [spec.height, spec.width, spec.channels];
    const outputs = checkOutputShape(probeOutputShape(forward, input, dir, backend), spec, labels.length, config.labels, dir);
    const classifier = classifierFromModel(loaded, spec, labels.length, () => undefined);
    if (classifier.scoresKind === 'log-probabilities') {
      log(`warning: the model in ${dir} outputs probabilities, but not through a final softmax gradsign can step over: attacks differentiate log-probabilities, and on very confident images a float32 softmax inside the model may still round the gradient away`);
    }
    const probe = await probeImage(dataDir, input);
    // The runner-up class: the least likely one can sit below the 1e-30 floor of a softmax output
    // (zero gradient), and the top one saturates on a confident model.
    const target = (await tidyRead<Int32Array>(() => tf.topk(classifier.logProbs(tf.tensor4d(probe.pixels, [1, ...input])), 2).indices))[1]!;
    const gradient = await checkInputGradient(classifier, probe.pixels, target, dir, backend);
    log(`model: ${format} model ${dir}: input ${input.join('×')}, ${outputs} outputs, ${labels.length} classes; input gradient ${gradient.result} on ${probe.source}`);
    const directional = await checkDirectionalDerivative(classifier, probe.pixels, dir, backend, unverified);
    log(
      `model: input gradient ok (directional derivative ${directional.derivative.toPrecision(6)} vs central difference ${directional.difference.toPrecision(6)} ` +
        `at h = ${directional.h}; over ${directional.directions} random directions the differences are ${(100 * directional.relativeError).toFixed(1)}% of the derivatives, within ${100 * directional.tolerance}%)`,
    );

    // 3. The copy, model-info.json and labels.txt, all or nothing.
    const labelsText = labels.map(labelLine).join('\n') + '\n';
    let info: ModelInfo | undefined;
    await writeDirAtomic(outDir, async (tmp) => {
      const modelSha256 = await copyModelFiles(dir, shards, tmp);
      info = {
        schemaVersion: 1,
        source: 'imported',
        description: `TensorFlow.js ${format} model imported from ${dir} (sha256 ${modelSha256.slice(0, 16)})`,
        format,
        input: { height: spec.height, width: spec.width, channels: spec.channels },
        normalization: spec.normalization,
        output: spec.output,
        labelOffset: spec.labelOffset,
        lossScores: classifier.scoresKind,
        numClasses: labels.length,
        classNames: labels.map((l) => l.name),
        testAccuracy: null,
        backend,
        training: {
          importedFrom: dir,
          modelSha256,
          labels: config.labels,
          labelsSha256: createHash('sha256').update(labelsText).digest('hex'),
          outputs,
          inputGradient: gradient.result,
        },
      };
      await writeFileAtomic(path.join(tmp, 'labels.txt'), labelsText);
      await writeFileAtomic(path.join(tmp, 'model-info.json'), JSON.stringify(info, null, 2) + '\n');
    });
    return info!;
  } finally {
    loaded.model.dispose();
  }
}

/**
 * Saves and loads tfjs models as a directory (model.json + weight shards) through custom IO
 * handlers, so no tfjs-node is needed. Predictions after a round trip are bit-identical.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GradsignError } from '../errors.ts';
import { explicitBatchNormParams } from './batch-norm-params.ts';

/** A Node Buffer's bytes as an ArrayBuffer of their own (Buffers share a pooled one). */
function ownArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData as ArrayBuffer;
      const modelJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      await writeFile(path.join(dir, 'weights.bin'), new Uint8Array(weightData));
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
}

interface ModelJson {
  format?: string;
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  signature?: unknown;
  userDefinedMetadata?: unknown;
  modelInitializer?: unknown;
}

const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** Bytes one weight takes in its shards; undefined for string weights (their length is in the data). */
export function weightByteLength(spec: tf.io.WeightsManifestEntry): number | undefined {
  const perValue = BYTES_PER_VALUE[spec.quantization?.dtype ?? spec.dtype];
  return perValue === undefined ? undefined : perValue * spec.shape.reduce((a, b) => a * b, 1);
}

/**
 * A weight group's shards must hold exactly the bytes its weights take (tfjs would otherwise fail
 * deep inside, on a tensor "with 975 values"). tensorflowjs_converter cuts a group into equal
 * shards, the last one smaller: a shard out of that line is named with the bytes it should hold;
 * when none is, every shard of the group is named with its size.
 */
function checkShardSizes(group: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }, shards: Buffer[], dir: string, file: string): void {
  const sizes = group.weights.map(weightByteLength);
  if (sizes.some((n) => n === undefined)) return;
  const needed = (sizes as number[]).reduce((a, b) => a + b, 0);
  const held = shards.reduce((n, b) => n + b.length, 0);
  if (held === needed) return;
  const names = group.weights.map((w) => w.name);
  const weights = `its weights ${names.slice(0, 3).join(', ')}${names.length > 3 ? `, … (${names.length})` : ''} take ${needed} bytes in all`;
  const full = Math.max(...shards.slice(0, -1).map((b) => b.length));
  const outOfLine = shards.findIndex((b, i) => (i < shards.length - 1 ? b.length < full : b.length > full));
  const fault = held < needed ? 'cut short' : 'too long';
  const hint = (which: string) => `${which} is ${fault} or from another conversion: copy it again from the tensorflowjs_converter output, or convert the model again`;
  if (outOfLine !== -1) {
    const shard = shards[outOfLine]!;
    throw new GradsignError(`weight shard ${path.join(dir, group.paths[outOfLine]!)} holds ${shard.length} bytes, but ${file} needs ${shard.length + needed - held} there (${weights})`, {
      hint: hint('the shard'),
    });
  }
  const listed = group.paths.map((p, i) => `${path.join(dir, p)} (${shards[i]!.length} bytes)`).join(', ');
  throw new GradsignError(`weight shards ${listed} hold ${held} bytes, but ${file} needs ${needed} (${weights})`, { hint: hint('a shard') });
}

/**
 * Reads model.json and its shards into ModelArtifacts, with BatchNormalization layers that lack γ or
 * β given explicit ones (batch-norm-params.ts: tfjs cannot differentiate them otherwise).
 */
export async function readModelArtifacts(dir: string): Promise<{ artifacts: tf.io.ModelArtifacts; json: ModelJson }> {
  const file = path.join(dir, 'model.json');
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as ModelJson;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new GradsignError(missing ? `no model.json in ${dir}` : `${file} is not valid JSON`, {
      hint: 'point the pipeline\'s model.path at a TensorFlow.js model directory (model.json + weight shards), e.g. the output of tensorflowjs_converter',
    });
  }
  if (!json.modelTopology || !json.weightsManifest) {
    throw new GradsignError(`${file} lacks modelTopology or weightsManifest`, {
      hint: 'convert the model with tensorflowjs_converter (docs/bring-your-own-model.md)',
    });
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    const shards: Buffer[] = [];
    for (const shard of group.paths) {
      try {
        shards.push(await readFile(path.join(dir, shard)));
      } catch {
        throw new GradsignError(`weight shard ${shard} listed in ${file} is missing`, {
          hint: 'copy every file the converter produced into the model directory',
        });
      }
    }
    checkShardSizes(group, shards, dir, file);
    buffers.push(...shards);
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    format: json.format,
    weightSpecs,
    weightData: ownArrayBuffer(Buffer.concat(buffers)),
    signature: json.signature as never,
    userDefinedMetadata: json.userDefinedMetadata as never,
    modelInitializer: json.modelInitializer as never,
  };
  return { artifacts: explicitBatchNormParams(artifacts), json };
}

/** One node of a graph model's GraphDef (model.json's modelTopology.node). */
export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
}

export type LoadedModel = { kind: 'layers'; model: tf.LayersModel } | { kind: 'graph'; model: tf.GraphModel; nodes: readonly GraphNode[] };

/** The GraphDef nodes of a graph model's artifacts (empty when the topology has none). */
export function graphNodes(artifacts: tf.io.ModelArtifacts): GraphNode[] {
  const node = (artifacts.modelTopology as { node?: unknown } | undefined)?.node;
  return Array.isArray(node) ? (node as GraphNode[]) : [];
}

/** Loads a layers or graph model from a directory; `auto` decides by model.json's format. */
export async function loadModelDir(dir: string, format: 'auto' | 'layers' | 'graph' = 'auto'): Promise<LoadedModel> {
  const { artifacts, json } = await readModelArtifacts(dir);
  const isGraph = format === 'graph' || (format === 'auto' && json.format === 'graph-model');
  const handler: tf.io.IOHandler = { load: async () => artifacts };
  try {
    if (isGraph) return { kind: 'graph', model: await tf.loadGraphModel(handler), nodes: graphNodes(artifacts) };
    return { kind: 'layers', model: await tf.loadLayersModel(handler) };
  } catch (error) {
    throw new GradsignError(`could not load the ${isGraph ? 'graph' : 'layers'} model in ${dir}: ${(error as Error).message}`, {
      hint: 'set model.format ("layers" or "graph") to match how the model was converted',
    });
  }
}

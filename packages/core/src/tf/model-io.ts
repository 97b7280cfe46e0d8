/**
 * Saves and loads tfjs models as a directory (model.json + weight shards) through custom IO
 * handlers, so no tfjs-node is needed. Predictions after a round trip are bit-identical.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GradsignError } from '../errors.ts';

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

/** Reads model.json and its shards into ModelArtifacts. */
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
    for (const shard of group.paths) {
      try {
        buffers.push(await readFile(path.join(dir, shard)));
      } catch {
        throw new GradsignError(`weight shard ${shard} listed in ${file} is missing`, {
          hint: 'copy every file the converter produced into the model directory',
        });
      }
    }
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
  return { artifacts, json };
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

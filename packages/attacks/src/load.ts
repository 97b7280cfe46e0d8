/**
 * Loading a model as an AttackModel, from the model stage's directory or from serialized artifacts
 * (what a worker thread receives: plain data that survives structured cloning).
 */
import { GradsignError, type ModelSpec } from '@gradsign/core';
import { classifierFromModel, explicitBatchNormParams, loadModelDir, readModelInfo, specOf, tf } from '@gradsign/core/tf';
import { compileLayersModel } from './compiled/compile.ts';
import { attackModelFromClassifier, type AttackModel, type GradientOption } from './model.ts';

/** A layers model as plain data (model.json's topology, weight specs, weight bytes). */
export interface SerializedModel {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
}

export type ModelSource =
  | { kind: 'dir'; dir: string }
  | { kind: 'artifacts'; artifacts: SerializedModel; spec: ModelSpec; numClasses: number };

/** Serializes a layers model (e.g. one built in a test or a benchmark) for `ModelSource.artifacts`. */
export async function serializeLayersModel(model: tf.LayersModel): Promise<SerializedModel> {
  let out: SerializedModel | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      out = {
        modelTopology: artifacts.modelTopology as object,
        weightSpecs: artifacts.weightSpecs ?? [],
        weightData: artifacts.weightData as ArrayBuffer,
      };
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** Whether `auto` picks the compiled path on the active backend: the JS kernels read tensor memory
 * directly on wasm and cpu; on tfjs-node each read would copy from native memory. */
function compiledByDefault(): boolean {
  const backend = tf.getBackend();
  return backend === 'wasm' || backend === 'cpu';
}

/** An AttackModel over a loaded layers model, compiled when `gradient` allows and the model does. */
export function attackModelFromLayers(model: tf.LayersModel, spec: ModelSpec, numClasses: number, gradient: GradientOption = 'auto'): AttackModel {
  const dispose = () => model.dispose();
  let reason: string;
  if (gradient === 'tf.grad') {
    reason = 'tf.grad requested';
  } else if (tf.getBackend() === 'webgpu') {
    // Its JS kernels read tensor memory synchronously, which webgpu in Node cannot do.
    if (gradient === 'compiled') throw new GradsignError('the compiled gradient path does not run on webgpu', { hint: 'use gradient "auto" or "tf.grad"' });
    reason = 'backend webgpu (the compiled path is for wasm and cpu)';
  } else if (gradient === 'auto' && !compiledByDefault()) {
    reason = `backend ${tf.getBackend()} (the compiled path is for wasm and cpu)`;
  } else {
    const compiled = compileLayersModel(model, spec, { numClasses, dispose });
    if (typeof compiled !== 'string') return compiled;
    if (gradient === 'compiled') {
      throw new GradsignError(`this model cannot use the compiled gradient path: ${compiled}`, { hint: 'use gradient "auto" or "tf.grad"' });
    }
    reason = compiled;
  }
  return attackModelFromClassifier(classifierFromModel({ kind: 'layers', model }, spec, numClasses, dispose), reason);
}

export async function loadAttackModel(source: ModelSource, gradient: GradientOption = 'auto'): Promise<AttackModel> {
  if (source.kind === 'artifacts') {
    const { artifacts } = source;
    const model = await tf.loadLayersModel(
      tf.io.fromMemory(explicitBatchNormParams({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData })),
    );
    return attackModelFromLayers(model, source.spec, source.numClasses, gradient);
  }
  const info = await readModelInfo(source.dir);
  const loaded = await loadModelDir(source.dir, info.format);
  const spec = specOf(info);
  if (loaded.kind === 'layers') return attackModelFromLayers(loaded.model, spec, info.numClasses, gradient);
  if (gradient === 'compiled') {
    throw new GradsignError('a graph model cannot use the compiled gradient path', { hint: 'use gradient "auto" or "tf.grad"' });
  }
  return attackModelFromClassifier(classifierFromModel(loaded, spec, info.numClasses), 'graph model');
}

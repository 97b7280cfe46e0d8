/**
 * tfjs 4.22 cannot differentiate a BatchNormalization layer built with `scale: false` or
 * `center: false`, and Keras' InceptionV3 uses `scale=False` in every conv2d_bn block. The layer
 * passes the missing γ or β to tf.batchNorm as null, the FusedBatchNorm kernel records it as an
 * input, and the gradient tape fails on it: "Cannot read properties of undefined (reading
 * 'dtype')" (γ on wasm, 'dataId' on cpu, when saving inputs for the backward pass) or "(reading
 * 'id')" (β, when walking the tape). The forward pass is unaffected.
 *
 * The fix rewrites a layers model's artifacts before loading: such a layer becomes `scale: true`
 * with γ = 1 and/or `center: true` with β = 0, new weights appended after the others. x·1 and
 * x + 0 are exact in float32, so outputs are bit-identical; the files on disk are not touched.
 */
import type * as tf from '@tensorflow/tfjs';

interface LayerJson {
  class_name?: string;
  config?: { name?: string; scale?: boolean; center?: boolean; [key: string]: unknown };
  [key: string]: unknown;
}

/** Every BatchNormalization layer config in a topology, nested models included. */
function batchNormLayers(node: unknown, out: LayerJson[] = []): LayerJson[] {
  if (Array.isArray(node)) {
    for (const item of node) batchNormLayers(item, out);
  } else if (node && typeof node === 'object') {
    const layer = node as LayerJson;
    if (layer.class_name === 'BatchNormalization' && layer.config) out.push(layer);
    for (const value of Object.values(layer)) batchNormLayers(value, out);
  }
  return out;
}

/** The artifacts with every BatchNormalization given explicit γ = 1 and β = 0 where it had none; the same object when none lacks them. */
export function explicitBatchNormParams(artifacts: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const topology = artifacts.modelTopology;
  if (!topology || topology instanceof ArrayBuffer || !artifacts.weightSpecs || !(artifacts.weightData instanceof ArrayBuffer)) return artifacts;
  const copy = structuredClone(topology) as object;
  const missing = batchNormLayers(copy).filter((l) => l.config!.scale === false || l.config!.center === false);
  if (missing.length === 0) return artifacts;
  const specs = [...artifacts.weightSpecs];
  const extra: Float32Array[] = [];
  for (const layer of missing) {
    const name = layer.config!.name!;
    // The layer's moving mean names the weight scope and holds the channel count.
    const mean = artifacts.weightSpecs.find((s) => s.name === `${name}/moving_mean` || s.name.endsWith(`/${name}/moving_mean`));
    if (!mean) continue; // tfjs will name the missing weight when it loads the model
    const scope = mean.name.slice(0, -'moving_mean'.length);
    const add = (weight: 'gamma' | 'beta', value: number) => {
      specs.push({ name: `${scope}${weight}`, shape: mean.shape, dtype: 'float32' });
      extra.push(new Float32Array(mean.shape.reduce((a, b) => a * b, 1)).fill(value));
    };
    if (layer.config!.scale === false) {
      layer.config!.scale = true;
      add('gamma', 1);
    }
    if (layer.config!.center === false) {
      layer.config!.center = true;
      add('beta', 0);
    }
  }
  const bytes = new Uint8Array(artifacts.weightData.byteLength + extra.reduce((n, a) => n + a.byteLength, 0));
  bytes.set(new Uint8Array(artifacts.weightData));
  let offset = artifacts.weightData.byteLength;
  for (const a of extra) {
    bytes.set(new Uint8Array(a.buffer), offset);
    offset += a.byteLength;
  }
  return { ...artifacts, modelTopology: copy, weightSpecs: specs, weightData: bytes.buffer };
}

/**
 * The layers the compiled path supports: a table of per-layer compilers, by Keras class name.
 * Anything else ends the compiled part of a chain (compile.ts).
 */
import type { tf } from '@gradsign/core/tf';
import type { LayerCompiler, LayerConfig, Step } from '../step.ts';
import { compileActivation, compileReLU } from './activation.ts';
import { compileConv2D } from './conv2d.ts';
import { compileDense } from './dense.ts';
import { compileFlatten } from './flatten.ts';
import { IDENTITY_LAYERS, compileIdentity } from './identity.ts';
import { compileMaxPooling2D } from './max-pooling2d.ts';

export const LAYER_COMPILERS: Readonly<Record<string, LayerCompiler>> = {
  Conv2D: compileConv2D,
  MaxPooling2D: compileMaxPooling2D,
  Dense: compileDense,
  Flatten: compileFlatten,
  Activation: compileActivation,
  ReLU: compileReLU,
  ...Object.fromEntries(IDENTITY_LAYERS.map((cls) => [cls, compileIdentity])),
};

/** A Step for one layer, or the reason it cannot be compiled; `linear` drops a Dense layer's
 * (softmax) activation. */
export function compileLayer(layer: tf.layers.Layer, linear = false): Step | string {
  const cls = layer.getClassName();
  const compiler = Object.hasOwn(LAYER_COMPILERS, cls) ? LAYER_COMPILERS[cls] : undefined;
  if (!compiler) return `layer ${cls}`;
  const cfg: LayerConfig = { ...(layer.getConfig() as LayerConfig), ...(linear ? { activation: 'linear' } : {}) };
  return compiler(layer, cfg);
}

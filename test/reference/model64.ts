/**
 * A float64 copy of a tfjs layers model (sequential or a functional DAG with one input and one
 * output), built from its layer configs and weights, evaluated on one unbatched image.
 */
import type * as tf from '@tensorflow/tfjs';
import { partsOf, type Layer64, type LayerBuilder } from './layer64.ts';
import { Conv2D, DepthwiseConv2D, SeparableConv2D } from './layers/conv.ts';
import { Dense } from './layers/dense.ts';
import { Activation, Add, BatchNormalization, Concatenate, Dropout, Multiply, ReLU, Rescaling } from './layers/elementwise.ts';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from './layers/pool.ts';
import { Flatten, Reshape, ZeroPadding2D } from './layers/shape.ts';
import type { T64 } from './tensor64.ts';

const BUILDERS: Record<string, LayerBuilder> = {
  Conv2D,
  DepthwiseConv2D,
  SeparableConv2D,
  MaxPooling2D,
  AveragePooling2D,
  GlobalAveragePooling2D,
  GlobalMaxPooling2D,
  BatchNormalization,
  Dense,
  Flatten,
  Reshape,
  ZeroPadding2D,
  Concatenate,
  Add,
  Multiply,
  Dropout,
  Rescaling,
  Activation,
  ReLU,
};

/** The layer classes the reference implements. */
export const REFERENCE_LAYERS = Object.keys(BUILDERS);

export interface Model64 {
  /** [h, w, c] of the single input image. */
  inputShape: number[];
  /** In topological order; values[0] is the input, values[k + 1] the output of layers[k]. */
  layers: Layer64[];
  /** For each layer, the indices into values of its inputs. */
  inputsOf: number[][];
}

function layer64(layer: tf.layers.Layer): Layer64 {
  const className = layer.getClassName();
  const build = BUILDERS[className];
  if (!build) throw new Error(`float64 reference: layer ${layer.name} is a ${className}, which the reference does not implement`);
  return { name: layer.name, className, ...build(partsOf(layer)) };
}

export function referenceModel(model: tf.LayersModel): Model64 {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Error('float64 reference: the model must have one input and one output');
  const inputShape = model.inputs[0]!.shape.slice(1);
  if (inputShape.some((d) => d == null)) throw new Error('float64 reference: the input shape must be fixed');
  const result: Model64 = { inputShape: inputShape as number[], layers: [], inputsOf: [] };
  const seen = new Map<string, number>();
  const visit = (t: tf.SymbolicTensor): number => {
    const layer = t.sourceLayer;
    if (layer.getClassName() === 'InputLayer') return 0;
    const key = `${layer.name}#${t.nodeIndex}`;
    const known = seen.get(key);
    if (known !== undefined) return known;
    const inputs = layer.inboundNodes[t.nodeIndex]!.inputTensors.map(visit);
    result.layers.push(layer64(layer));
    result.inputsOf.push(inputs);
    seen.set(key, result.layers.length);
    return result.layers.length;
  };
  visit(model.outputs[0]!);
  return result;
}

/** Every value of the forward pass: [input, output of layers[0], …]. */
export function forwardValues(model: Model64, x: Float64Array): T64[] {
  const values: T64[] = [{ shape: model.inputShape, data: x }];
  model.layers.forEach((layer, k) => values.push(layer.forward(model.inputsOf[k]!.map((i) => values[i]!))));
  return values;
}

/** The model's output (e.g. logits) for one image, flat. */
export function forward64(model: Model64, x: Float64Array): Float64Array {
  const values = forwardValues(model, x);
  return values[values.length - 1]!.data;
}

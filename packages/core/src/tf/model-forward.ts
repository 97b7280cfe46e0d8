/**
 * A loaded model as a Classifier. A model that outputs probabilities through a final softmax
 * (Keras applications end in one) is read just before that softmax, so the attack loss is computed
 * on logits: a float32 softmax of a confident image rounds p to 1 and takes the gradient with it
 * (loss-gradient.ts). Log-probabilities are then logSoftmax(logits), exact where log(softmax) is not.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../config.ts';
import { makeClassifier, type Classifier } from './classifier.ts';
import type { GraphNode, LoadedModel } from './model-io.ts';

type Layer = tf.layers.Layer;

/** A layers model's last layer when it is a softmax over the last axis: its own, or a Dense layer's activation. */
export function finalSoftmaxLayer(model: tf.LayersModel): { layer: Layer; kind: 'activation' | 'dense' } | undefined {
  if (model.outputs.length !== 1) return undefined;
  const layer = model.outputs[0]!.sourceLayer as Layer;
  const cfg = layer.getConfig() as { activation?: unknown; axis?: unknown };
  const cls = layer.getClassName();
  if ((cls === 'Activation' && cfg.activation === 'softmax') || (cls === 'Softmax' && (cfg.axis ?? -1) === -1)) return { layer, kind: 'activation' };
  if (cls === 'Dense' && cfg.activation === 'softmax' && (layer.input as tf.SymbolicTensor).shape.length === 2) return { layer, kind: 'dense' };
  return undefined;
}

/** The softmax layer's input mapped to the logits it takes the softmax of (a Dense layer's affine part). */
export function logitsBeforeSoftmax(softmax: { layer: Layer; kind: 'activation' | 'dense' }, input: tf.Tensor): tf.Tensor {
  if (softmax.kind === 'activation') return input;
  const [kernel, bias] = softmax.layer.getWeights() as [tf.Tensor2D, tf.Tensor1D | undefined];
  return tf.fused.matMul({ a: input as tf.Tensor2D, b: kernel, ...(bias ? { bias } : {}) });
}

/** The logits feeding a layers model's final softmax, as a function of the model input. */
function layersLogits(model: tf.LayersModel): ((x: tf.Tensor4D) => tf.Tensor) | undefined {
  const softmax = finalSoftmaxLayer(model);
  if (!softmax) return undefined;
  // A model sharing the layers (and weights) up to the softmax layer's input.
  const body = tf.model({ inputs: model.inputs, outputs: softmax.layer.input as tf.SymbolicTensor });
  return (x) => logitsBeforeSoftmax(softmax, body.apply(x, { training: false }) as tf.Tensor);
}

/** The node feeding a graph model's final Softmax (through Identity nodes), if it ends in one. */
export function graphLogitsNode(nodes: readonly GraphNode[], outputNode: string): string | undefined {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const inputName = (n: GraphNode) => n.input?.find((i) => !i.startsWith('^'))?.replace(/:0$/, '');
  let node = byName.get(outputNode.replace(/:0$/, ''));
  while (node?.op === 'Identity') node = byName.get(inputName(node) ?? '');
  return node?.op === 'Softmax' ? inputName(node) : undefined;
}

/** The raw forward function of a loaded model and what it outputs, stepping over a final softmax. */
export function modelForward(loaded: LoadedModel, output: ModelSpec['output']): { raw: (x: tf.Tensor4D) => tf.Tensor; output: ModelSpec['output'] } {
  if (loaded.kind === 'layers') {
    const logits = output === 'probabilities' ? layersLogits(loaded.model) : undefined;
    if (logits) return { raw: logits, output: 'logits' };
    return { raw: (x) => loaded.model.apply(x, { training: false }) as tf.Tensor, output };
  }
  const model = loaded.model;
  const logitsNode = output === 'probabilities' && model.outputNodes.length === 1 ? graphLogitsNode(loaded.nodes, model.outputNodes[0]!) : undefined;
  if (logitsNode) return { raw: (x) => model.execute(x, logitsNode) as tf.Tensor, output: 'logits' };
  return { raw: (x) => model.execute(x) as tf.Tensor, output };
}

/** A loaded model as a Classifier over [0,1] pixels (see the header for models ending in a softmax). */
export function classifierFromModel(loaded: LoadedModel, spec: ModelSpec, numClasses: number, dispose: () => void = () => loaded.model.dispose()): Classifier {
  const { raw, output } = modelForward(loaded, spec.output);
  return makeClassifier(raw, { ...spec, output }, numClasses, dispose);
}

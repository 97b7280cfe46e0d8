/**
 * Checks an imported model's input and output against the pipeline's model.spec and label file,
 * before anything else runs, with errors that show both sides.
 */
import { GradsignError, type ModelSpec } from '@gradsign/core';
import type { LoadedModel } from '@gradsign/core/tf';

/** A tensor shape as tfjs reports it: null (layers) or -1 (graph) for a free dimension. */
export type Shape = (number | null)[] | undefined;

export const showShape = (shape: Shape) => (shape ? `[${shape.map((d) => (d === null || d < 0 ? 'any' : d)).join(', ')}]` : '[unknown]');
const free = (d: number | null | undefined) => d === null || d === undefined || d < 0;

function single(model: LoadedModel, what: 'inputs' | 'outputs', path: string): Shape {
  const tensors = model.model[what] as { name: string; shape?: number[] }[];
  if (tensors.length !== 1) {
    throw new GradsignError(`the model in ${path} has ${tensors.length} ${what} (${tensors.map((t) => t.name).join(', ')}); gradsign needs exactly one`, {
      hint: what === 'inputs'
        ? 'export a model that takes one image batch [batch, height, width, channels]'
        : 'export a model with one classification output, e.g. tensorflowjs_converter --output_node_names=<the softmax or logits node>',
    });
  }
  return tensors[0]!.shape as Shape;
}

export function modelInputShape(model: LoadedModel, path: string): Shape {
  return single(model, 'inputs', path);
}

/** The declared output shape; graph models often leave it undeclared (then undefined). */
export function declaredOutputShape(model: LoadedModel, path: string): Shape {
  return single(model, 'outputs', path);
}

/** Input must be [batch, height, width, channels] (NHWC) where the model fixes a size; free sizes take the spec's. */
export function checkInputShape(shape: Shape, spec: ModelSpec, path: string): void {
  const want = [spec.height, spec.width, spec.channels];
  const specText = `model.spec ${spec.height}×${spec.width}×${spec.channels} (height × width × channels)`;
  if (!shape) return; // unknown rank (some graph models): the probe forward pass checks the spec's shape
  if (shape.length !== 4) {
    throw new GradsignError(`the model in ${path} takes input of shape ${showShape(shape)}, not an image batch [batch, height, width, channels] matching ${specText}`, {
      hint: 'gradsign feeds NHWC image batches; export the model with a 4-d image input',
    });
  }
  const mismatched = want.some((d, i) => !free(shape[i + 1]) && shape[i + 1] !== d);
  if (!mismatched) return;
  const channelsFirst = shape[1] === spec.channels && (free(shape[3]) || shape[3] === spec.width);
  throw new GradsignError(`the model in ${path} takes input of shape ${showShape(shape)} but ${specText} expects [batch, ${want.join(', ')}]`, {
    hint: channelsFirst
      ? 'the model looks channels-first (NCHW); gradsign feeds channels-last (NHWC) images: convert the model with channels last'
      : `set model.spec.height/width/channels to the model's input (${shape.slice(1).map((d) => (free(d) ? '?' : d)).join(' × ')}), or point model.path at the right model`,
  });
}

/** Output must be [batch, labelOffset + number of labels]. */
export function checkOutputShape(shape: Shape, spec: ModelSpec, numLabels: number, labelsFile: string, path: string): number {
  if (!shape || shape.length !== 2 || free(shape[1])) {
    throw new GradsignError(`the model in ${path} outputs shape ${showShape(shape)}; gradsign needs class scores [batch, classes]`, {
      hint: 'export the classification head (logits or softmax) as the model\'s only output',
    });
  }
  const outputs = shape[1] as number;
  if (outputs - spec.labelOffset !== numLabels) {
    const offsetHint =
      outputs === numLabels + 1 && spec.labelOffset === 0
        ? 'the model has one more output than there are labels: if output 0 is a background class (TF-slim models), set model.spec.labelOffset to 1'
        : `the label file must list ${outputs - spec.labelOffset} classes (outputs ${spec.labelOffset}…${outputs - 1}), one a line, in the model's output order`;
    throw new GradsignError(
      `the model in ${path} has ${outputs} outputs${spec.labelOffset ? ` (${outputs - spec.labelOffset} after labelOffset ${spec.labelOffset})` : ''}, but ${labelsFile} lists ${numLabels} classes`,
      { hint: offsetHint },
    );
  }
  return outputs;
}

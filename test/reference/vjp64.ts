/**
 * The input gradient of a float64 model, written by hand: for a chain of layers that each have a
 * VJP (Conv2D, MaxPooling2D, Dense, Flatten, Activation/ReLU with relu or linear, Dropout: the
 * default CNN's layer types), dx = Jᵀ·cotangent, layer by layer from the output back.
 */
import { forwardValues, type Model64 } from './model64.ts';
import { crossEntropyLogitGradient } from './numeric.ts';
import type { T64 } from './tensor64.ts';

function assertChain(model: Model64): void {
  model.layers.forEach((layer, k) => {
    if (!layer.backward) throw new Error(`float64 reference: no hand-written input gradient for layer ${layer.name} (${layer.className})`);
    if (model.inputsOf[k]!.length !== 1 || model.inputsOf[k]![0] !== k) throw new Error(`float64 reference: the input gradient needs a chain of layers; ${layer.name} is not`);
  });
}

/** Back from the output through the values of one forward pass. */
function backward(model: Model64, values: T64[], cotangent: ArrayLike<number>): Float64Array {
  const out = values[values.length - 1]!;
  if (cotangent.length !== out.data.length) throw new Error(`float64 reference: cotangent has ${cotangent.length} entries, the output ${out.data.length}`);
  let dy: T64 = { shape: out.shape, data: Float64Array.from(cotangent) };
  for (let k = model.layers.length - 1; k >= 0; k--) dy = model.layers[k]!.backward!(values[k]!, values[k + 1]!, dy);
  return dy.data;
}

/** ∇ₓ⟨cotangent, out(x)⟩ for one image x (flat [h, w, c]) and a cotangent at the output (e.g. ∂loss/∂logits). */
export function inputGradient(model: Model64, x: Float64Array, cotangent: ArrayLike<number>): Float64Array {
  assertChain(model);
  return backward(model, forwardValues(model, x), cotangent);
}

/** ∇ₓ −log softmax(out(x))_label, for a model whose output is logits (one forward pass). */
export function crossEntropyInputGradient(model: Model64, x: Float64Array, label: number): Float64Array {
  assertChain(model);
  const values = forwardValues(model, x);
  return backward(model, values, crossEntropyLogitGradient(values[values.length - 1]!.data, label));
}

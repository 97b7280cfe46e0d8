/**
 * A float64 reference for tfjs layers models (test-only), one unbatched NHWC image at a time.
 *
 *   referenceModel(model: tf.LayersModel): Model64
 *       reads layer configs and weights (float32 weights are exact in float64). Layer classes:
 *       REFERENCE_LAYERS; anything else throws naming the layer and its class.
 *   forward64(model: Model64, x: Float64Array): Float64Array
 *       the output (e.g. logits) for one image x, flat [h·w·c] row-major.
 *   forwardValues(model, x): T64[]      every intermediate value, [input, layer 0, layer 1, …].
 *   inputGradient(model: Model64, x: Float64Array, cotangent: ArrayLike<number>): Float64Array
 *       ∇ₓ⟨cotangent, out(x)⟩, hand-written, for chains of Conv2D (any padding/stride, relu or
 *       linear), MaxPooling2D, Dense (relu/linear), Flatten, Activation/ReLU (relu/linear),
 *       Dropout; throws naming the first layer outside that.
 *   crossEntropyInputGradient(model, x, label): Float64Array
 *       ∇ₓ −log softmax(out(x))_label for a model that outputs logits.
 *   crossEntropyLogitGradient(logits: ArrayLike<number>, label: number): Float64Array
 *       ∂(−log softmax(z)_label)/∂z in the log domain (no cancellation when p_label ≈ 1).
 *   logSumExp(z: ArrayLike<number>): number
 *   centralDifference(f: (x: Float64Array) => number, x: Float64Array, h: number, coords?: ArrayLike<number>): Float64Array
 *   differences(f, x, h, coords?): { central, forward, backward }   (forward ≠ backward: a kink within ±h)
 *       entry j belongs to coords[j] (every coordinate, in order, when coords is omitted).
 */
export type { T64 } from './tensor64.ts';
export { forward64, forwardValues, referenceModel, REFERENCE_LAYERS, type Model64 } from './model64.ts';
export { crossEntropyInputGradient, inputGradient } from './vjp64.ts';
export { centralDifference, crossEntropyLogitGradient, differences, logSumExp, type Differences } from './numeric.ts';

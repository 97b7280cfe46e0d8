/**
 * What gradsign has verified about tfjs 4.22's input gradients (with the fixes in ./gradients and
 * the wasm kernels): the layer classes, activations and graph ops whose tf.grad input gradient
 * matches a float64 reference on the cpu and wasm backends. The model stage warns about anything
 * else an imported model uses. Each entry is pinned by a test that fails when it loses its check:
 *
 * - layers and activations: packages/core/test/layer-gradients.test.ts, one tiny model per layer
 *   and variant (padding, strides, odd sizes) against float64 central differences;
 * - graph ops: packages/core/test/graph-op-gradients.test.ts runs a graph model built of the
 *   TESTED ops against the float64 reference of its layers twin; each MAPPED op is executed by
 *   tfjs-converter through the same tfjs op (hence the same kernel and gradient) as the tested
 *   op or verified layer it names.
 *
 * Not on the lists on purpose: Conv2D/DepthwiseConv2D with dilation > 1 (tfjs has no gradient for
 * them and says so; tfjs's DepthwiseConv2D layer also ignores dilationRate in its forward pass).
 */

/** Keras layer classes (class_name in a layers model's topology). */
export const VERIFIED_LAYERS: readonly string[] = [
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'BatchNormalization',
  'Dense',
  'Flatten',
  'Reshape',
  'ZeroPadding2D',
  'Concatenate',
  'Add',
  'Multiply',
  'Dropout',
  'Rescaling',
  'Activation',
  'ReLU',
];

/** Values of a layer's `activation` config. */
export const VERIFIED_ACTIVATIONS: readonly string[] = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'tanh', 'softmax', 'swish'];

/** Graph ops (node.op in a graph model's topology) run by the graph-model gradient test. */
export const TESTED_GRAPH_OPS: readonly string[] = [
  'Placeholder',
  'Const',
  'Identity',
  'Sub',
  'RealDiv',
  'Pad',
  'Conv2D',
  'BiasAdd',
  'FusedBatchNormV3',
  'Relu6',
  'FusedDepthwiseConv2dNative',
  '_FusedConv2D',
  'AvgPool',
  'MaxPool',
  'Mean',
  'Squeeze',
  'Max',
  'Reshape',
  'ConcatV2',
  '_FusedMatMul',
  'MatMul',
  'Tanh',
  'Sigmoid',
  'Mul',
  'Elu',
  'Add',
  'AddV2',
  'Softmax',
];

/** Graph ops verified by mapping: op → the tested op or verified layer it runs the same tfjs op as. */
export const MAPPED_GRAPH_OPS: Readonly<Record<string, string>> = {
  DepthwiseConv2dNative: 'DepthwiseConv2D', // tf.depthwiseConv2d, as the layer calls it
  FusedBatchNorm: 'FusedBatchNormV3', // one executor branch: tf.batchNorm
  FusedBatchNormV2: 'FusedBatchNormV3',
  PadV2: 'Pad', // tf.pad with constant_value
  Relu: 'ReLU', // tf.relu
};

/**
 * Ops fused into _FusedConv2D, FusedDepthwiseConv2dNative and _FusedMatMul (their fused_ops).
 * Under tf.grad tfjs unfuses a non-linear activation into tf.relu / relu6 / elu / sigmoid, each
 * verified above; a linear one runs the fused kernel with its own gradient, tested with BiasAdd.
 */
export const VERIFIED_FUSED_OPS: readonly string[] = ['BiasAdd', 'Relu', 'Relu6', 'Elu', 'Sigmoid'];

export function isVerifiedGraphOp(op: string): boolean {
  return TESTED_GRAPH_OPS.includes(op) || op in MAPPED_GRAPH_OPS;
}

/** One compiled layer of the compiled gradient path, and what a per-layer compiler is. */
import type { tf } from '@gradsign/core/tf';

export interface Step {
  readonly name: string;
  /** The output is a ReLU output (≥ 0), so a following max-pool may fuse the ReLU backward. */
  readonly reluOutput: boolean;
  forward(x: tf.Tensor): tf.Tensor;
  /**
   * dL/dx from dL/dy; `x`, `y` are this step's saved input and output. With `acceptsCropped`, a
   * 4D dy may cover only the top-left rows/columns of y (the rest is zero), and so may dx.
   */
  backward(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor): tf.Tensor;
  readonly acceptsCropped?: boolean;
  /** Set by compile: the next step already applied this step's ReLU mask to dy. */
  skipReluMask?: boolean;
  /** A max-pool that can differentiate a preceding ReLU together with itself. */
  readonly fusableWithRelu?: boolean;
  /** Set by compile on such a max-pool when its input is a ReLU output. */
  fuseRelu?: boolean;
  dispose?(): void;
}

/** A layer's config, as `getConfig()` returns it. */
export type LayerConfig = Record<string, unknown>;

/** Compiles one layer (of the class it is registered for) into a Step, or says why it cannot. */
export type LayerCompiler = (layer: tf.layers.Layer, cfg: LayerConfig) => Step | string;

/** A Keras size or stride, a number or a pair, as [height, width]. */
export const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);
export const activationOf = (cfg: LayerConfig): string => (typeof cfg.activation === 'string' ? cfg.activation : 'linear');

/** A step that passes its input through (a layer that is the identity at inference). */
export const identityStep = (name: string): Step => ({ name, reluOutput: false, forward: (x) => x, backward: (dy) => dy });

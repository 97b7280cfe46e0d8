/** What every float64 layer provides, and how layer configs and weights are read from tfjs. */
import type * as tf from '@tensorflow/tfjs';
import { sizeOf, type T64, type Window2D } from './tensor64.ts';

export interface Layer64 {
  name: string;
  className: string;
  forward(inputs: T64[]): T64;
  /** Vector-Jacobian product at the single input: dy ↦ dx, given the forward pass's input x and output y. */
  backward?(x: T64, y: T64, dy: T64): T64;
}

export type LayerConfig = Record<string, unknown> & { name: string };

/** A layer's parts: its Keras config, its weights by name (kernel, bias, gamma, …) in float64. */
export interface LayerParts {
  name: string;
  className: string;
  config: LayerConfig;
  weight(name: string): T64 | undefined;
}

export type LayerBuilder = (parts: LayerParts) => Omit<Layer64, 'name' | 'className'>;

export function partsOf(layer: tf.layers.Layer): LayerParts {
  const weights = new Map<string, T64>();
  const values = layer.getWeights();
  layer.weights.forEach((w, i) => {
    const value = values[i]!;
    weights.set(w.originalName.split('/').pop()!, { shape: value.shape, data: Float64Array.from(value.dataSync()) });
  });
  return { name: layer.name, className: layer.getClassName(), config: layer.getConfig() as LayerConfig, weight: (n) => weights.get(n) };
}

export function required(parts: LayerParts, weight: string): T64 {
  const w = parts.weight(weight);
  if (!w) throw new Error(`float64 reference: layer ${parts.name} (${parts.className}) has no weight "${weight}"`);
  return w;
}

export function channelsLast(parts: LayerParts): void {
  const format = parts.config.dataFormat;
  if (format !== undefined && format !== 'channelsLast') throw new Error(`float64 reference: layer ${parts.name} (${parts.className}) uses ${String(format)}; only channelsLast is supported`);
}

const pair = (v: unknown, fallback: [number, number]): [number, number] =>
  v == null ? fallback : Array.isArray(v) ? [v[0] as number, (v[1] ?? v[0]) as number] : [v as number, v as number];

/** The window of a convolution (kernelSize, strides, dilationRate) or a pool (poolSize; strides default to it). */
export function windowOf(parts: LayerParts): Window2D {
  const c = parts.config;
  const kernel = pair(c.kernelSize ?? c.poolSize, [1, 1]);
  const strides = pair(c.strides, c.poolSize !== undefined ? kernel : [1, 1]);
  return { kernel, strides, dilation: pair(c.dilationRate, [1, 1]), padding: String(c.padding ?? 'valid') };
}

export function addBias(y: T64, bias: T64 | undefined): T64 {
  if (!bias) return y;
  const c = bias.data.length;
  for (let i = 0; i < y.data.length; i++) y.data[i]! += bias.data[i % c]!;
  return y;
}

export const reshaped = (x: T64, shape: number[]): T64 => {
  if (sizeOf(shape) !== x.data.length) throw new Error(`float64 reference: cannot reshape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  return { shape, data: x.data };
};

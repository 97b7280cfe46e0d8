/** Keras activations in float64; relu and linear also have a vector-Jacobian product (from the output y). */
import { map64, type T64 } from './tensor64.ts';

export interface Activation64 {
  name: string;
  forward(x: T64): T64;
  /** dy ↦ dx, given the activation's output y; only for the default CNN's activations. */
  backward?(y: T64, dy: T64): T64;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Softmax over the last axis, shifted by the row maximum. */
function softmax(x: T64): T64 {
  const c = x.shape[x.shape.length - 1]!;
  const out = new Float64Array(x.data.length);
  for (let start = 0; start < out.length; start += c) {
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, x.data[start + j]!);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += out[start + j] = Math.exp(x.data[start + j]! - max);
    for (let j = 0; j < c; j++) out[start + j]! /= sum;
  }
  return { shape: x.shape, data: out };
}

const elementwise = (f: (v: number) => number) => (x: T64) => map64(x, f);

const ACTIVATIONS: Record<string, Omit<Activation64, 'name'>> = {
  linear: { forward: (x) => x, backward: (_y, dy) => dy },
  relu: { forward: elementwise((v) => Math.max(v, 0)), backward: (y, dy) => map64(dy, (d, i) => (y.data[i]! > 0 ? d : 0)) },
  relu6: { forward: elementwise((v) => Math.min(Math.max(v, 0), 6)) },
  elu: { forward: elementwise((v) => (v > 0 ? v : Math.expm1(v))) },
  sigmoid: { forward: elementwise(sigmoid) },
  tanh: { forward: elementwise(Math.tanh) },
  swish: { forward: elementwise((v) => v * sigmoid(v)) },
  softmax: { forward: softmax },
};

export function activation64(name: string, layer: string): Activation64 {
  const found = ACTIVATIONS[name];
  if (!found) throw new Error(`float64 reference: activation "${name}" of layer ${layer} is not supported`);
  return { name, ...found };
}

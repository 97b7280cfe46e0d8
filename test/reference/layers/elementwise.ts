/**
 * Per-element and merging layers in float64: BatchNormalization (inference: moving statistics),
 * Rescaling, Activation, ReLU, Dropout (identity), Add, Multiply, Concatenate (last axis).
 * Activation, ReLU (uncapped) and Dropout also have a VJP.
 */
import { activation64 } from '../activations.ts';
import { required, type LayerBuilder, type LayerParts } from '../layer64.ts';
import { map64, zeros, type T64 } from '../tensor64.ts';

/** Keras counts the batch axis: the last axis of an unbatched [..., c] tensor is -1 or its rank. */
function lastAxis(parts: LayerParts, x: T64, key = 'axis'): void {
  const axis = parts.config[key] ?? -1;
  if (axis !== -1 && axis !== x.shape.length) throw new Error(`float64 reference: layer ${parts.name} (${parts.className}): only the last axis is supported, got ${key} ${String(axis)}`);
}

/** y = (x − moving_mean) / sqrt(moving_variance + ε) · γ + β, per channel. */
export const BatchNormalization: LayerBuilder = (parts) => {
  const mean = required(parts, 'moving_mean');
  const variance = required(parts, 'moving_variance');
  const gamma = parts.weight('gamma');
  const beta = parts.weight('beta');
  const epsilon = (parts.config.epsilon as number | undefined) ?? 1e-3;
  const c = mean.data.length;
  return {
    forward: ([x]) => {
      lastAxis(parts, x!);
      return map64(x!, (v, i) => {
        const ch = i % c;
        return ((v - mean.data[ch]!) / Math.sqrt(variance.data[ch]! + epsilon)) * (gamma ? gamma.data[ch]! : 1) + (beta ? beta.data[ch]! : 0);
      });
    },
  };
};

export const Rescaling: LayerBuilder = (parts) => {
  const scale = parts.config.scale as number;
  const offset = (parts.config.offset as number | undefined) ?? 0;
  return { forward: ([x]) => map64(x!, (v) => v * scale + offset) };
};

export const Activation: LayerBuilder = (parts) => {
  const act = activation64(String(parts.config.activation), parts.name);
  return { forward: ([x]) => act.forward(x!), backward: act.backward ? (_x, y, dy) => act.backward!(y, dy) : undefined };
};

/** relu, clipped at maxValue when one is set. */
export const ReLU: LayerBuilder = (parts) => {
  const max = parts.config.maxValue as number | null | undefined;
  if (max != null) return { forward: ([x]) => map64(x!, (v) => Math.min(Math.max(v, 0), max)) };
  const relu = activation64('relu', parts.name);
  return { forward: ([x]) => relu.forward(x!), backward: (_x, y, dy) => relu.backward!(y, dy) };
};

/** Inference: identity. */
export const Dropout: LayerBuilder = () => ({ forward: ([x]) => x!, backward: (_x, _y, dy) => dy });

function sameShapes(parts: LayerParts, inputs: T64[]): void {
  const first = inputs[0]!.shape.join(',');
  if (inputs.some((t) => t.shape.join(',') !== first)) throw new Error(`float64 reference: layer ${parts.name} (${parts.className}) needs inputs of one shape (no broadcasting)`);
}

function merge(reduce: (a: number, b: number) => number): LayerBuilder {
  return (parts) => ({
    forward: (inputs) => {
      sameShapes(parts, inputs);
      return map64(inputs[0]!, (v, i) => inputs.slice(1).reduce((acc, t) => reduce(acc, t.data[i]!), v));
    },
  });
}

export const Add = merge((a, b) => a + b);
export const Multiply = merge((a, b) => a * b);

export const Concatenate: LayerBuilder = (parts) => ({
  forward: (inputs) => {
    inputs.forEach((t) => lastAxis(parts, t));
    const widths = inputs.map((t) => t.shape[t.shape.length - 1]!);
    const total = widths.reduce((a, b) => a + b, 0);
    const rows = inputs[0]!.data.length / widths[0]!;
    const y = zeros([...inputs[0]!.shape.slice(0, -1), total]);
    for (let r = 0; r < rows; r++) {
      let at = r * total;
      inputs.forEach((t, k) => {
        y.data.set(t.data.subarray(r * widths[k]!, (r + 1) * widths[k]!), at);
        at += widths[k]!;
      });
    }
    return y;
  },
});

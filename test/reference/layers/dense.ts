/** Dense in float64 over the last axis (any leading shape), with its VJP for relu/linear activations. */
import { activation64 } from '../activations.ts';
import { addBias, required, type LayerBuilder } from '../layer64.ts';
import { zeros, type T64 } from '../tensor64.ts';

/** y[r, u] = Σ_i x[r, i] · k[i, u]. */
function matmul(x: T64, kernel: T64): T64 {
  const [inDim, units] = kernel.shape as [number, number];
  const rows = x.data.length / inDim;
  const y = zeros([...x.shape.slice(0, -1), units]);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inDim; i++) {
      const v = x.data[r * inDim + i]!;
      if (v === 0) continue;
      for (let u = 0; u < units; u++) y.data[r * units + u]! += v * kernel.data[i * units + u]!;
    }
  }
  return y;
}

/** dx[r, i] = Σ_u dy[r, u] · k[i, u]. */
function matmulBackward(dy: T64, kernel: T64, inShape: number[]): T64 {
  const [inDim, units] = kernel.shape as [number, number];
  const dx = zeros(inShape);
  for (let r = 0; r < dx.data.length / inDim; r++) {
    for (let i = 0; i < inDim; i++) {
      let sum = 0;
      for (let u = 0; u < units; u++) sum += dy.data[r * units + u]! * kernel.data[i * units + u]!;
      dx.data[r * inDim + i] = sum;
    }
  }
  return dx;
}

export const Dense: LayerBuilder = (parts) => {
  const kernel = required(parts, 'kernel');
  const bias = parts.weight('bias');
  const act = activation64(String(parts.config.activation ?? 'linear'), parts.name);
  return {
    forward: ([x]) => act.forward(addBias(matmul(x!, kernel), bias)),
    backward: act.backward ? (x, y, dy) => matmulBackward(act.backward!(y, dy), kernel, x.shape) : undefined,
  };
};

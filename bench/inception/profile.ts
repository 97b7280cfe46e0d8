/**
 * Where an attack batch's time goes, by kernel: tf.profile of one call, `*__op` wrappers left out
 * (they double-count the kernels inside them), summed per kernel name, with the convolution
 * kernels' FLOPs (2·H_out·W_out·C_out·C_in·kh·kw per image, forward and both backward kernels
 * alike) and GFLOP/s. Conv2DBackpropFilter is the weight gradient: tf.grad computes it through
 * every conv layer (tfjs's fused conv gradient differentiates the filter too), though an attack
 * needs the input gradient only.
 */
import { tf } from '@gradsign/core/tf';

export interface KernelRow {
  kernel: string;
  calls: number;
  ms: number;
  share: number;
  /** Convolution kernels only. */
  gflop?: number;
  gflops?: number;
}

export interface Profile {
  kernelMs: number;
  wallMs: number;
  kernels: KernelRow[];
  /** Conv2DBackpropFilter's share of the kernel time. */
  filterGradientShare: number;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** FLOPs of one convolution kernel call, from its tensor shapes; undefined for other kernels. */
export function convKernelFlops(name: string, inputShapes: number[][], outputShapes: number[][]): number | undefined {
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D': // inputs x, filter [kh, kw, ci, co]; output [n, oh, ow, co]
      return 2 * prod(outputShapes[0]!.slice(0, 3)) * prod(inputShapes[1]!);
    case 'Conv2DBackpropInput': // inputs dy [n, oh, ow, co], filter
      return 2 * prod(inputShapes[0]!.slice(0, 3)) * prod(inputShapes[1]!);
    case 'Conv2DBackpropFilter': // inputs x, dy [n, oh, ow, co]; output the filter
      return 2 * prod(inputShapes[1]!.slice(0, 3)) * prod(outputShapes[0]!);
    default:
      return undefined;
  }
}

/** Profiles `runs` calls of `fn` (after the caller's warm-up); per-call averages. */
export async function profileKernels(fn: () => unknown, runs = 1): Promise<Profile> {
  const byKernel = new Map<string, { ms: number; calls: number; flops: number }>();
  const t0 = performance.now();
  for (let r = 0; r < runs; r++) {
    const info = await tf.profile(() => {
      fn();
      return [] as unknown as tf.Tensor;
    });
    for (const k of info.kernels) {
      if (k.name.endsWith('__op')) continue;
      const e = byKernel.get(k.name) ?? { ms: 0, calls: 0, flops: 0 };
      e.ms += k.kernelTimeMs as number;
      e.calls++;
      e.flops += convKernelFlops(k.name, k.inputShapes as number[][], k.outputShapes as number[][]) ?? 0;
      byKernel.set(k.name, e);
    }
  }
  const wallMs = (performance.now() - t0) / runs;
  const kernelMs = [...byKernel.values()].reduce((a, e) => a + e.ms / runs, 0);
  const kernels = [...byKernel]
    .map(([kernel, e]): KernelRow => {
      const ms = e.ms / runs;
      const row: KernelRow = { kernel, calls: e.calls / runs, ms, share: ms / kernelMs };
      if (e.flops > 0) Object.assign(row, { gflop: e.flops / runs / 1e9, gflops: e.flops / e.ms / 1e6 });
      return row;
    })
    .sort((a, b) => b.ms - a.ms);
  const filter = kernels.find((k) => k.kernel === 'Conv2DBackpropFilter');
  return { kernelMs, wallMs, kernels, filterGradientShare: filter ? filter.share : 0 };
}

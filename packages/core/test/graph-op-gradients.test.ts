/**
 * Graph models: the ops tfjs-converter emits (Sub, RealDiv, Pad, FusedBatchNormV3, _FusedConv2D,
 * FusedDepthwiseConv2dNative, _FusedMatMul, Mean/Squeeze, ConcatV2, …) computed by a graph model
 * that is op for op the same function as a layers model (test/fixtures/graph-twin.ts). Its tfjs
 * input gradient of ⟨r, output⟩ on cpu and wasm must match float64 central differences through
 * the reference of the layers twin (tolerance and kink rule as in layer-gradients.test.ts).
 */
import { Rng } from '@gradsign/core';
import { MAPPED_GRAPH_OPS, TESTED_GRAPH_OPS, VERIFIED_LAYERS, tf } from '@gradsign/core/tf';
import { beforeAll, describe, expect, test } from 'vitest';
import { randomImage } from '../../../test/fixtures/layer-cases.ts';
import { TWIN_CLASSES, TWIN_INPUT, graphTwinArtifacts, layersTwin } from '../../../test/fixtures/graph-twin.ts';
import { agreement } from '../../../test/helpers/gradient-agreement.ts';
import { TEST_BACKENDS, useBackend } from '../../../test/helpers/backends.ts';
import { differences, forward64, referenceModel } from '../../../test/reference/float64.ts';

const TOLERANCE = 1e-4;

async function loadTwin() {
  const layers = layersTwin();
  const artifacts = graphTwinArtifacts(layers);
  const graph = await tf.loadGraphModel({ load: async () => artifacts });
  return { layers, graph, artifacts };
}

describe.each(TEST_BACKENDS)('%s backend', (backend) => {
  let twin: Awaited<ReturnType<typeof loadTwin>>;
  beforeAll(async () => {
    await useBackend(backend);
    twin = await loadTwin();
  });

  const image = Float64Array.from(Float32Array.from(randomImage(TWIN_INPUT, 31)));
  const input = () => tf.tensor(Float32Array.from(image), [1, ...TWIN_INPUT]);

  test('the graph computes the layers twin\'s function', () => {
    const fromGraph = tf.tidy(() => (twin.graph.execute(input()) as tf.Tensor).dataSync());
    const reference = forward64(referenceModel(twin.layers), image);
    reference.forEach((v, j) => expect(Math.abs(fromGraph[j]! - v)).toBeLessThanOrEqual(1e-5 * Math.max(...reference)));
  });

  test('its input gradient matches float64 central differences', () => {
    const rng = new Rng(17);
    const r = Float64Array.from({ length: TWIN_CLASSES }, () => rng.next() - 0.5);
    const g = tf.tidy(() => {
      const f = (x: tf.Tensor) => tf.sum(tf.mul(twin.graph.execute(x) as tf.Tensor, tf.tensor(Float32Array.from(r))));
      return tf.grad(f)(input()).dataSync() as Float32Array;
    });
    const reference = referenceModel(twin.layers);
    const coords = Array.from(image, (_, i) => i);
    const fd = differences((z) => forward64(reference, z).reduce((s, v, j) => s + v * r[j]!, 0), image, 1e-6, coords);
    const a = agreement(g, fd, coords, TOLERANCE);
    expect(a.scale).toBeGreaterThan(1e-4);
    expect(a.worst, `worst at input ${a.worstAt}: tfjs ${g[a.worstAt]}, float64 ${fd.central[a.worstAt]}`).toBeLessThanOrEqual(TOLERANCE);
    expect(a.kinks).toBeLessThanOrEqual(0.02 * coords.length);
  });
});

describe('the verified graph ops (src/tf/verified-ops.ts)', () => {
  test('TESTED_GRAPH_OPS are exactly the ops of the tested graph', async () => {
    await useBackend('cpu');
    const { artifacts } = await loadTwin();
    const ops = new Set((artifacts.modelTopology as { node: { op: string }[] }).node.map((n) => n.op));
    expect([...ops].sort()).toEqual([...TESTED_GRAPH_OPS].sort());
  });

  test('each mapped op names a tested op or a verified layer', () => {
    for (const [op, target] of Object.entries(MAPPED_GRAPH_OPS)) {
      expect(TESTED_GRAPH_OPS.includes(target) || VERIFIED_LAYERS.includes(target), `${op} → ${target}`).toBe(true);
    }
  });
});

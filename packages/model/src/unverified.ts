/**
 * What an imported model uses outside gradsign's verified list (@gradsign/core/tf verified-ops),
 * read from model.json's topology: layer classes and activations of a layers model (nested models
 * included), ops of a graph model (and of its function library), with fused ops spelled out.
 */
import { VERIFIED_ACTIVATIONS, VERIFIED_FUSED_OPS, VERIFIED_LAYERS, isVerifiedGraphOp } from '@gradsign/core/tf';

type Json = Record<string, unknown>;
const asJson = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});

/** Counts names in first-seen order; rendered "Name" or "Name ×3". */
class Tally {
  private readonly counts = new Map<string, number>();
  add(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
  list(): string[] {
    return [...this.counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name));
  }
}

/** A Keras activation config: "relu", or an object naming one (Keras 3 serialises {class_name, config}). */
function activationName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const v = asJson(value);
  return typeof v.config === 'string' ? v.config : typeof v.class_name === 'string' ? v.class_name : undefined;
}

function scanLayersModel(model: Json, tally: Tally): void {
  const config = model.config;
  const layers = (Array.isArray(config) ? config : asJson(config).layers) as unknown[] | undefined;
  for (const raw of layers ?? []) {
    const layer = asJson(raw);
    const className = String(layer.class_name);
    const layerConfig = asJson(layer.config);
    if (Array.isArray(layerConfig.layers) || Array.isArray(layer.config)) {
      scanLayersModel(layer, tally); // a nested Sequential / Functional model
      continue;
    }
    if (!VERIFIED_LAYERS.includes(className)) tally.add(className);
    const activation = activationName(layerConfig.activation);
    if (activation !== undefined && !VERIFIED_ACTIVATIONS.includes(activation)) tally.add(`activation "${activation}"`);
  }
}

/** fused_ops of a _Fused* node, decoded ("BiasAdd", "Relu", …). */
function fusedOps(node: Json): string[] {
  const list = asJson(asJson(asJson(node.attr).fused_ops).list).s;
  return Array.isArray(list) ? list.map((s) => Buffer.from(String(s), 'base64').toString()) : [];
}

function scanGraph(topology: Json, tally: Tally): void {
  const functions = (asJson(topology.library).function as unknown[] | undefined) ?? [];
  const nodes = [...((topology.node as unknown[] | undefined) ?? []), ...functions.flatMap((f) => (asJson(f).nodeDef as unknown[] | undefined) ?? [])];
  for (const raw of nodes) {
    const node = asJson(raw);
    const op = String(node.op);
    if (!isVerifiedGraphOp(op)) tally.add(op);
    for (const fused of fusedOps(node)) if (!VERIFIED_FUSED_OPS.includes(fused)) tally.add(`${op} with fused ${fused}`);
  }
}

/** Names of the unverified layer classes / activations / ops, each once (×count). */
export function unverifiedParts(modelTopology: unknown, format: 'layers' | 'graph'): string[] {
  const tally = new Tally();
  const topology = asJson(modelTopology);
  if (format === 'graph') scanGraph(topology, tally);
  else scanLayersModel(asJson(topology.model_config ?? topology), tally);
  return tally.list();
}

/**
 * Expands a pipeline file into the stage tasks that run it: one per stage, and one attack plus one
 * evaluation per combination (method × gradient × ε × parameters). The Nx plugin turns each task
 * into an Nx project, so each is hashed and cached on its own options only.
 */
import { AttackCombination, PipelineConfig, stageBackend, type AttackSweep, type Backend, type BackendStage } from './config.ts';
import { GradsignError } from './errors.ts';

export const STAGES = ['preprocess', 'model', 'bucketing', 'attacks', 'evaluate', 'report'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageTask {
  stage: Stage;
  /** Unique within the pipeline: `model`, `attacks/bim-inverse-eps8-255`, … */
  key: string;
  /** Combination id for attacks/evaluate tasks. */
  combination?: string;
  /** Output directory, relative to the workspace root. */
  outDir: string;
  dependsOn: string[];
  /** The backend its config asks for (stages that run tfjs): what the Nx plugin resolves for the task's hash. */
  backend?: Backend;
  /** CLI arguments for `packages/<stage>/src/cli.ts`; the config JSON is the only thing hashed besides sources. */
  args: string[];
  /** Files or folders outside the workspace that the task reads (dataset, user model, label file). */
  externalInputs?: string[];
}

/** What the preprocess and model tasks read from disk, beyond their options. */
function externalInputs(config: PipelineConfig): { preprocess: string[]; model: string[] } {
  const d = config.dataset;
  const m = config.model;
  const present = (...paths: (string | undefined)[]) => paths.filter((p): p is string => Boolean(p));
  return {
    preprocess: d.kind === 'fashion-mnist' ? [d.dir] : present(d.dir, d.groundTruth, d.synsetMap, d.labels, m.kind === 'tfjs' ? m.labels : undefined),
    model: m.kind === 'tfjs' ? present(m.path, m.labels) : [],
  };
}

/**
 * A parameter value as it appears in an id: a whole multiple of 1/255 as `8-255` (Kurakin's
 * convention), anything else as the shortest decimal that reads back as the same number, so
 * distinct values never share an id.
 */
export function idNumber(value: number): string {
  const k = Math.round(value * 255);
  return k > 0 && k / 255 === value ? `${k}-255` : String(value);
}

type Combination = Omit<AttackCombination, 'id'>;

/** The parameters a sweep set explicitly, as id parts: `l2`, `steps20`, `alpha0.1`, `mu1`. */
export function explicitParameters(c: Omit<Combination, 'eps' | 'method' | 'gradient'>): string[] {
  const parts: string[] = [];
  if (c.norm !== 'linf') parts.push(c.norm);
  if (c.steps !== undefined) parts.push(`steps${c.steps}`);
  if (c.alpha !== undefined) parts.push(`alpha${idNumber(c.alpha)}`);
  if (c.momentum !== undefined) parts.push(`mu${idNumber(c.momentum)}`);
  return parts;
}

const head = (c: Combination) => [c.method, c.gradient.replace(':', '')];

/** A combination's id without ε: what stays the same along an ε sweep (the report's curves). */
export function seriesId(c: Combination): string {
  return [...head(c), ...explicitParameters(c)].join('-');
}

/** `bim-inverse-eps8-255`, plus every parameter the sweep set explicitly. */
export function combinationId(c: Combination): string {
  return [...head(c), `eps${idNumber(c.eps)}`, ...explicitParameters(c)].join('-');
}

/** A parameter as the pipeline file gave it, for messages: "8/255" for whole k/255. */
const written = (value: number) => idNumber(value).replace('-', '/');

/** All combinations of the pipeline's sweeps, in file order; two entries that make the same combination are an error naming both. */
export function expandAttacks(sweeps: AttackSweep[]): AttackCombination[] {
  const seen = new Map<string, string>();
  const out: AttackCombination[] = [];
  sweeps.forEach((sweep, index) => {
    for (const method of sweep.methods)
      for (const gradient of sweep.gradients)
        sweep.eps.forEach((eps, e) => {
          const combo = {
            method,
            gradient,
            eps,
            norm: sweep.norm,
            ...(method === 'fgsm' ? {} : { steps: sweep.steps, alpha: sweep.alpha }),
            ...(method === 'mifgsm' ? { momentum: sweep.momentum } : {}),
          };
          const id = combinationId(combo);
          const where = `attacks[${index}].eps[${e}]`;
          const first = seen.get(id);
          if (first !== undefined) {
            throw new GradsignError(`${where} (${written(eps)}) makes combination ${id} again: ${first} already did`, {
              hint: 'the two entries are the same attack (equal ε and parameters); remove one of them',
            });
          }
          seen.set(id, where);
          out.push(AttackCombination.parse({ id, ...combo }));
        });
  });
  return out;
}

export function artifactDir(pipeline: string, ...parts: string[]): string {
  return ['artifacts', pipeline, ...parts].join('/');
}

const json = (value: unknown) => JSON.stringify(value);

/** The input size preprocessing must produce: only an imported model dictates one. */
function modelInput(config: PipelineConfig) {
  if (config.model.kind !== 'tfjs') return undefined;
  const { height, width, channels } = config.model.spec;
  return { height, width, channels };
}

/** An image folder maps its classes through the model's label file unless it names its own. */
function datasetWithLabels(config: PipelineConfig) {
  const dataset = config.dataset;
  if (dataset.kind !== 'image-folder' || dataset.labels || config.model.kind !== 'tfjs') return dataset;
  return { ...dataset, labels: config.model.labels };
}

/** The tasks of one pipeline, in dependency order. */
export function planPipeline(name: string, config: PipelineConfig): StageTask[] {
  const dir = (...parts: string[]) => artifactDir(name, ...parts);
  // Each stage's own backend: changing the attacks' leaves the model's options, hence its cache key, alone.
  const backend = (stage: BackendStage) => stageBackend(config.backend, stage);
  // Your own model's memory is unknown until measured; the embedded CNN's is small.
  const batchSize = config.batchSize ?? (config.model.kind === 'tfjs' ? 'auto' : 128);
  const combos = expandAttacks(config.attacks);
  const external = externalInputs(config);
  const tasks: StageTask[] = [
    {
      stage: 'preprocess',
      key: 'preprocess',
      outDir: dir('preprocess'),
      dependsOn: [],
      args: ['--config', json({ dataset: datasetWithLabels(config), input: modelInput(config) }), '--out', dir('preprocess')],
      externalInputs: external.preprocess,
    },
    {
      stage: 'model',
      key: 'model',
      outDir: dir('model'),
      backend: backend('model'),
      dependsOn: ['preprocess'],
      args: [
        '--config', json({ model: config.model, seed: config.seed, backend: backend('model') }),
        '--data', dir('preprocess'),
        '--out', dir('model'),
      ],
      externalInputs: external.model,
    },
    {
      stage: 'bucketing',
      key: 'bucketing',
      outDir: dir('bucketing'),
      backend: backend('bucketing'),
      dependsOn: ['preprocess', 'model'],
      args: [
        '--config', json({ buckets: config.buckets, seed: config.seed, batchSize, backend: backend('bucketing'), calibration: config.calibration }),
        '--data', dir('preprocess'),
        '--model', dir('model'),
        '--out', dir('bucketing'),
      ],
    },
  ];
  for (const combo of combos) {
    tasks.push({
      stage: 'attacks',
      key: `attacks/${combo.id}`,
      combination: combo.id,
      outDir: dir('attacks', combo.id),
      backend: backend('attacks'),
      dependsOn: ['model', 'bucketing'],
      args: [
        '--config', json({ attack: combo, seed: config.seed, batchSize, backend: backend('attacks') }),
        '--buckets', dir('bucketing'),
        '--model', dir('model'),
        '--out', dir('attacks', combo.id),
      ],
    });
  }
  for (const combo of combos) {
    tasks.push({
      stage: 'evaluate',
      key: `evaluate/${combo.id}`,
      combination: combo.id,
      outDir: dir('evaluate', combo.id),
      backend: backend('evaluate'),
      dependsOn: ['model', 'bucketing', `attacks/${combo.id}`],
      args: [
        '--config', json({ evaluate: config.evaluate, batchSize, backend: backend('evaluate') }),
        '--attack', dir('attacks', combo.id),
        '--buckets', dir('bucketing'),
        '--model', dir('model'),
        '--out', dir('evaluate', combo.id),
      ],
    });
  }
  tasks.push({
    stage: 'report',
    key: 'report',
    outDir: dir('report'),
    // The report reads evaluations, and adversarial images for its example grid.
    dependsOn: ['preprocess', 'model', 'bucketing', ...combos.flatMap((c) => [`attacks/${c.id}`, `evaluate/${c.id}`])],
    args: [
      '--config', json({ pipeline: name, config, combinations: combos.map((c) => c.id) }),
      '--artifacts', dir(),
      '--out', dir('report'),
    ],
  });
  return tasks;
}

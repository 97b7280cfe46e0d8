/**
 * The pipeline file (pipelines/<name>.json): one zod schema, the single source of truth for
 * every stage CLI, the Nx plugin and the report. Errors name the exact path of the bad field.
 */
import { z } from 'zod';
import { GradsignError } from './errors.ts';

/** A number, or a fraction "k/255" (Kurakin's convention); `what` names the field in errors. */
function fraction(what: string) {
  const error = (issue: { input?: unknown }) =>
    `${what}: expected a finite number or a fraction such as "8/255", got ${typeof issue.input === 'string' ? JSON.stringify(issue.input) : String(issue.input)}`;
  return z.union(
    [
      z.number({ error }),
      z
        .string()
        .regex(/^\s*\d+(\.\d+)?\s*\/\s*\d+(\.\d+)?\s*$/, { error })
        .transform((s) => {
          const [a, b] = s.split('/').map(Number) as [number, number];
          return a / b;
        }),
    ],
    { error },
  );
}

export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export const Backend = z.enum(BACKENDS, { error: (issue) => `unknown backend ${JSON.stringify(issue.input)}: use one of ${BACKENDS.join(', ')}` });
export type Backend = z.infer<typeof Backend>;

/**
 * Images per batch: a number, or "auto" (core's tf/batch-size.ts: the largest batch the backend's
 * memory holds, measured on this machine). Results never depend on it, only speed and memory do.
 */
export const BatchSize = z.union([z.number().int().positive(), z.literal('auto')], {
  error: (issue) => `batchSize must be a whole number ≥ 1 or "auto", got ${JSON.stringify(issue.input)}`,
});
export type BatchSize = z.infer<typeof BatchSize>;

/** The stages that run tfjs, hence take a backend (plan.ts's STAGES less preprocess and report). */
export const BACKEND_STAGES = ['model', 'bucketing', 'attacks', 'evaluate'] as const;
export type BackendStage = (typeof BACKEND_STAGES)[number];

const BACKEND_KEYS = ['default', ...BACKEND_STAGES];
const BackendByStage = z
  .object({ default: Backend.default('auto'), ...Object.fromEntries(BACKEND_STAGES.map((s) => [s, Backend.optional()])) } as {
    default: z.ZodDefault<typeof Backend>;
  } & Record<BackendStage, z.ZodOptional<typeof Backend>>);
export type BackendByStage = z.infer<typeof BackendByStage>;

/**
 * A pipeline's `backend`: one name for every stage, or names per stage, e.g. `{"default": "auto",
 * "attacks": "webgpu"}` (train once on a CPU, attack on a GPU: the model's options, hence its
 * cache key, stay the same). A name or an object is told apart first, so each kind of mistake
 * gets its own message and path (a zod union would answer only "Invalid input").
 */
export const BackendChoice = z
  .union([z.string(), z.looseObject({})], {
    error: (issue) => `expected a backend name (${BACKENDS.join(', ')}) or names per stage such as {"default": "auto", "attacks": "webgpu"}, got ${JSON.stringify(issue.input)}`,
  })
  .transform((value, ctx): Backend | BackendByStage => {
    // Unknown keys one by one, so the error names each (backend.atacks), as .strict() would not.
    const unknown = typeof value === 'string' ? [] : Object.keys(value).filter((key) => !BACKEND_KEYS.includes(key));
    for (const key of unknown) ctx.addIssue({ code: 'custom', path: [key], message: `not a stage that takes a backend: use ${BACKEND_KEYS.join(', ')} (preprocess and report use none)` });
    const result = (typeof value === 'string' ? Backend : BackendByStage).safeParse(value);
    for (const issue of result.error?.issues ?? []) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    return result.success && !unknown.length ? result.data : z.NEVER;
  });
export type BackendChoice = z.infer<typeof BackendChoice>;

/** The backend a stage runs on under a pipeline's `backend`. */
export function stageBackend(choice: BackendChoice, stage: BackendStage): Backend {
  return typeof choice === 'string' ? choice : (choice[stage] ?? choice.default);
}

export const FashionMnistDataset = z
  .object({
    kind: z.literal('fashion-mnist'),
    dir: z.string().default('/usr/share/datasets/fashion-mnist'),
    /** Use only the first N training / test images (for quick pipelines). */
    trainLimit: z.number().int().positive().optional(),
    testLimit: z.number().int().positive().optional(),
  })
  .strict();

/** How source images become model input: `slim` (87.5% central crop, bilinear resize),
 * `keras` (resize, no crop), `crop` (resize shorter side, centre crop). */
export const Preset = z.enum(['slim', 'keras', 'crop']);
export type Preset = z.infer<typeof Preset>;
/** Images with transparency are flattened onto this colour. */
export const AlphaBackground = z.enum(['white', 'black']);

export const ImageFolderDataset = z
  .object({
    kind: z.literal('image-folder'),
    dir: z.string(),
    /** `class-folders`: one sub-folder per class; `flat`: images plus a ground-truth file. */
    layout: z.enum(['class-folders', 'flat']).default('class-folders'),
    /** CSV `file,label` or ILSVRC2012 validation ground truth (one ILSVRC2012_ID per line). */
    groundTruth: z.string().optional(),
    groundTruthFormat: z.enum(['csv', 'ilsvrc2012']).default('csv'),
    /** ILSVRC2012 meta: a file listing synset ids in ILSVRC2012_ID order (1..1000), one per line. */
    synsetMap: z.string().optional(),
    preset: Preset.default('keras'),
    /** Class list in the model's output order (one a line); defaults to model.labels of a tfjs model. */
    labels: z.string().optional(),
    alphaBackground: AlphaBackground.default('white'),
    /** `tolerant`: files the decoder only warns about (e.g. corrupt JPEG scan data) are read, as PIL
     * and Keras read them, and listed in warnings.json; `strict`: they are rejects. */
    decode: z.enum(['tolerant', 'strict']).default('tolerant'),
    limit: z.number().int().positive().optional(),
  })
  .strict();

export const DatasetConfig = z.discriminatedUnion('kind', [FashionMnistDataset, ImageFolderDataset]);
export type DatasetConfig = z.infer<typeof DatasetConfig>;

export const TrainModelConfig = z
  .object({
    kind: z.literal('train'),
    architecture: z.literal('small-cnn').default('small-cnn'),
    epochs: z.number().int().positive().default(2),
    batchSize: z.number().int().positive().default(64),
    learningRate: z.number().positive().default(0.001),
    /** Train on the first N training images only (smoke pipelines). */
    trainLimit: z.number().int().positive().optional(),
  })
  .strict();

export const NORMALIZATIONS = ['unit', 'inception', 'caffe', 'torch'] as const;
export const Normalization = z.union([
  z.enum(NORMALIZATIONS),
  z.object({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) }).strict(),
]);
export type Normalization = z.infer<typeof Normalization>;

export const ModelSpec = z
  .object({
    /** Model input; images are resized to it. */
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    channels: z.union([z.literal(1), z.literal(3)]),
    /** Maps [0,1] pixels to what the model expects; applied inside the differentiated function. */
    normalization: Normalization.default('unit'),
    /** What the model's last layer outputs. */
    output: z.enum(['logits', 'probabilities']).default('logits'),
    /** Output index of class 0 (1 for TF-slim models with a background class). */
    labelOffset: z.number().int().min(0).default(0),
  })
  .strict();
export type ModelSpec = z.infer<typeof ModelSpec>;

export const TfjsModelConfig = z
  .object({
    kind: z.literal('tfjs'),
    /** Directory holding model.json and its weight shards. */
    path: z.string(),
    format: z.enum(['auto', 'layers', 'graph']).default('auto'),
    spec: ModelSpec,
    /** Class names, one per line, in the model's output order (after labelOffset). */
    labels: z.string(),
  })
  .strict();

export const ModelConfig = z.discriminatedUnion('kind', [TrainModelConfig, TfjsModelConfig]);
export type ModelConfig = z.infer<typeof ModelConfig>;

export const BucketName = z.enum(['low', 'medium', 'high']);
export type BucketName = z.infer<typeof BucketName>;
export const BUCKETS: readonly BucketName[] = ['low', 'medium', 'high'];

export const BucketsConfig = z
  .object({
    /** `thresholds`: the paper's fixed cut-offs; `quantile`: terciles of the correct images' confidence. */
    rule: z.enum(['thresholds', 'quantile']).default('thresholds'),
    thresholds: z
      .object({ high: z.number().gt(0).lte(1).default(0.3), medium: z.number().gt(0).lte(1).default(0.15) })
      .strict()
      .refine((t) => t.medium < t.high, { message: 'thresholds.medium must be below thresholds.high' })
      .default({ high: 0.3, medium: 0.15 }),
    perBucket: z.number().int().positive().default(500),
  })
  .strict();
export type BucketsConfig = z.infer<typeof BucketsConfig>;

/**
 * The calibration split: a seeded sample of the evaluated images whose full logits bucketing keeps
 * (calibration.arrow), for fitting e.g. temperature scaling; every other image keeps only its top-5,
 * top-2 logits and logsumexp. `count` images, or a `fraction` of them (rounded), at most all.
 */
export const CalibrationConfig = z.union([
  z.object({ count: z.number().int().min(0) }).strict(),
  z.object({ fraction: z.number().min(0).max(1) }).strict(),
]);
export type CalibrationConfig = z.infer<typeof CalibrationConfig>;
export const DEFAULT_CALIBRATION: CalibrationConfig = { count: 1000 };

export const METHODS = ['fgsm', 'bim', 'pgd', 'mifgsm'] as const;
export const Method = z.enum(METHODS, { error: (issue) => `unknown attack method ${JSON.stringify(issue.input)}: use one of ${METHODS.join(', ')}` });
export type Method = z.infer<typeof Method>;

export const GRADIENTS = ['inverse', 'least-likely', 'least-likely-argmin', 'random-target'] as const;
const unknownGradient = (issue: { input?: unknown }) => `unknown gradient ${JSON.stringify(issue.input)}: use one of ${GRADIENTS.join(', ')} or target:<class>`;
/** Gradient (target) strategies; `target:<class>` names a fixed class by index. */
export const Gradient = z.union([z.enum(GRADIENTS), z.string().regex(/^target:\d+$/, { error: unknownGradient })], { error: unknownGradient });
export type Gradient = z.infer<typeof Gradient>;

export const Norm = z.enum(['linf', 'l2'], { error: (issue) => `unknown norm ${JSON.stringify(issue.input)}: use "linf" or "l2"` });
export type Norm = z.infer<typeof Norm>;

/** ε: a number or "k/255", > 0 (the L∞ bound is checked with the norm, in attackIssues). */
const Eps = fraction('ε must be > 0').pipe(z.number().positive('ε must be > 0'));

/** Parameters a method may take beyond ε; each has a paper default where the method has one. */
const AttackParams = {
  norm: Norm.default('linf'),
  steps: z.number({ error: 'steps must be a whole number ≥ 1' }).int('steps must be a whole number ≥ 1').min(1, 'steps must be a whole number ≥ 1').optional(),
  alpha: fraction('α must be > 0').pipe(z.number().positive('α must be > 0')).optional(),
  momentum: z.number({ error: 'momentum must be ≥ 0 (MI-FGSM uses μ = 1.0)' }).min(0, 'momentum must be ≥ 0 (MI-FGSM uses μ = 1.0)').optional(),
};

/** The smallest ε accepted: below it a float32 pixel near 1 would not move at all (its spacing there is 6e-8). */
export const MIN_EPS = 1e-6;

interface AttackIssue {
  path: (string | number)[];
  message: string;
}

/** The rules an attack must satisfy beyond each field's own type, each message written once. */
function attackIssues(a: { method: Method; eps: number; norm: Norm; steps?: number | undefined; alpha?: number | undefined }): AttackIssue[] {
  const issues: AttackIssue[] = [];
  if (a.eps > 0 && a.eps < MIN_EPS) issues.push({ path: ['eps'], message: `ε = ${a.eps} is below ${MIN_EPS}: too small to move a float32 pixel in [0,1]; ε is in pixel units, e.g. 8/255` });
  if (a.norm === 'linf' && a.eps > 1) issues.push({ path: ['eps'], message: `an L∞ ε must be at most 1, i.e. in (0, 1] (pixels are in [0,1]), got ${a.eps}` });
  if (a.norm === 'l2' && a.method !== 'fgsm' && (a.steps === undefined || a.alpha === undefined)) {
    issues.push({ path: ['norm'], message: `an L2 ${a.method} attack needs explicit alpha and steps (L2 has no paper default)` });
  }
  return issues;
}

const AttackSpecObject = z.object({ method: Method, gradient: Gradient, eps: Eps, ...AttackParams }).strict();
const checkAttack = (a: z.infer<typeof AttackSpecObject>, ctx: z.RefinementCtx) => {
  for (const issue of attackIssues(a)) ctx.addIssue({ code: 'custom', ...issue });
};

/** One attack: method × gradient × ε and its parameters; the one definition every stage validates with. */
export const AttackSpec = AttackSpecObject.superRefine(checkAttack);
/** An attack as library callers give it (numbers; "k/255" strings are for pipeline files). */
export type AttackSpec = Omit<z.input<typeof AttackSpec>, 'eps' | 'alpha'> & { eps: number; alpha?: number };

/** One sweep: every method × gradient × ε in it becomes a combination, each an AttackSpec. */
export const AttackSweep = z
  .object({ methods: z.array(Method).min(1), gradients: z.array(Gradient).min(1), eps: z.array(Eps).min(1), ...AttackParams })
  .strict()
  .superRefine((sweep, ctx) => {
    const seen = new Set<string>();
    for (const method of sweep.methods) {
      sweep.eps.forEach((eps, i) => {
        for (const issue of attackIssues({ ...sweep, method, eps })) {
          const path = issue.path[0] === 'eps' ? ['eps', i] : issue.path;
          const key = `${path.join('.')}|${issue.message}`;
          if (!seen.has(key)) ctx.addIssue({ code: 'custom', path, message: issue.message });
          seen.add(key);
        }
      });
    }
  });
export type AttackSweep = z.infer<typeof AttackSweep>;

export const EvaluateConfig = z
  .object({
    /** Round adversarial images to 8 bits first, as saving them to PNG would. */
    quantize: z.boolean().default(false),
  })
  .strict();

export const PipelineConfig = z
  .object({
    $schema: z.string().optional(),
    description: z.string().optional(),
    seed: z.number().int().min(0).default(0),
    backend: BackendChoice.default('auto'),
    /** Default: 128 for the embedded model, "auto" for your own (plan.ts). */
    batchSize: BatchSize.optional(),
    dataset: DatasetConfig,
    model: ModelConfig,
    buckets: BucketsConfig.default({ rule: 'thresholds', thresholds: { high: 0.3, medium: 0.15 }, perBucket: 500 }),
    calibration: CalibrationConfig.default(DEFAULT_CALIBRATION),
    attacks: z.array(AttackSweep).min(1),
    evaluate: EvaluateConfig.default({ quantize: false }),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.dataset.kind === 'fashion-mnist' && p.model.kind !== 'train' && p.model.spec.channels !== 1) {
      ctx.addIssue({ code: 'custom', path: ['model', 'spec', 'channels'], message: 'Fashion-MNIST images have 1 channel' });
    }
    if (p.dataset.kind === 'image-folder') {
      if (p.model.kind !== 'tfjs') {
        ctx.addIssue({ code: 'custom', path: ['model', 'kind'], message: 'an image folder is evaluated with your own model: use "kind": "tfjs" with its spec and labels' });
      }
      if (p.dataset.layout === 'flat' && !p.dataset.groundTruth) {
        ctx.addIssue({ code: 'custom', path: ['dataset', 'groundTruth'], message: 'the flat layout needs a ground-truth file (CSV file,label or ILSVRC2012 validation ground truth)' });
      }
      if (p.dataset.groundTruthFormat === 'ilsvrc2012' && !p.dataset.synsetMap) {
        ctx.addIssue({ code: 'custom', path: ['dataset', 'synsetMap'], message: 'ILSVRC2012 ground truth needs the synset ids in ILSVRC2012_ID order (docs/bring-your-own-model.md)' });
      }
    }
  });
export type PipelineConfig = z.infer<typeof PipelineConfig>;

/** One attack to run: a point of a sweep, with its id (plan.ts's combinationId). */
export const AttackCombination = z
  .object({ id: z.string(), ...AttackSpecObject.shape })
  .strict()
  .superRefine(checkAttack);
export type AttackCombination = z.infer<typeof AttackCombination>;

/** Formats a zod error as one line per issue, each with the path of the offending field. */
export function formatZodError(error: z.ZodError, root = ''): string {
  return error.issues
    .map((issue) => {
      const where = [root, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))]
        .join('')
        .replace(/^\./, '');
      return `  at ${where || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}

/** Validates with `schema`, turning failures into a GradsignError that names `source`. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, source: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new GradsignError(`invalid ${source}:\n${formatZodError(result.error)}`, {
      hint: 'fix the field(s) named above; README.md, section "Pipeline files", lists every field',
    });
  }
  return result.data;
}

export function parsePipelineText(text: string, source: string): PipelineConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new GradsignError(`${source} is not valid JSON: ${(error as Error).message}`, {
      hint: 'check the file for a missing comma, quote or bracket',
    });
  }
  return parseWith(PipelineConfig, raw, source);
}

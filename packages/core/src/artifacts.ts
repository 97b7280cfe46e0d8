/** Every artifact the stages exchange, defined once: columns, metadata schema, producer. */
import { z } from 'zod';
import { defineArtifact } from './arrow.ts';
import { AlphaBackground, AttackCombination, BucketName, BucketsConfig, CalibrationConfig, ModelSpec, Preset } from './config.ts';

const ImageShape = {
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  channels: z.number().int().positive(),
};

const ImagesMetadata = z.object({
  dataset: z.string(),
  split: z.string(),
  ...ImageShape,
  classNames: z.array(z.string()).min(2),
  /** How source images became model input (image folders), for the report. */
  preset: z.string().optional(),
});

/** preprocess → `<split>.arrow`: dataset images as 8-bit pixels, HWC order (Fashion-MNIST). */
export const ImagesArtifact = defineArtifact({
  kind: 'images',
  version: 1,
  producer: 'preprocess',
  columns: { id: 'int32', label: 'int32', image: { list: 'uint8' } },
  metadata: ImagesMetadata,
});

/**
 * preprocess → `index.arrow` (image folders): which source files make the test split, without
 * their pixels. Each is decoded where it is used (core/src/images), with the preset and size
 * recorded here, and checked against its sha256 first: a file changed since preprocessing is an
 * error, never a silent different image.
 */
export const ImageIndexArtifact = defineArtifact({
  kind: 'image-index',
  version: 1,
  producer: 'preprocess',
  columns: {
    id: 'int32',
    label: 'int32',
    /** Path relative to the metadata's `dir`, with '/' separators. */
    file: 'utf8',
    /** sha256 (hex) of the file's bytes when preprocess read it. */
    sha256: 'utf8',
    /** The source image's size before crop and resize. */
    sourceWidth: 'int32',
    sourceHeight: 'int32',
  },
  metadata: ImagesMetadata.safeExtend({
    preset: Preset,
    alphaBackground: AlphaBackground,
    /** dataset.dir as configured (relative paths are from the workspace root, where stages run). */
    dir: z.string(),
  }),
});

export const TopK = 5;

/** What the model's scores are: logits, or log-probabilities (a model ending in a softmax). */
const ScoresKind = z.enum(['logits', 'log-probabilities']);

/**
 * bucketing → `clean-predictions.arrow`: per evaluated image, what later analyses need without
 * the full output: the top-5 classes and probabilities, and the two largest scores with the
 * logsumexp over all classes (margins, and log p of the top-2 = score − logsumexp). Full scores
 * are kept only for the calibration split (CalibrationArtifact).
 * Version 2 added topScores, logSumExp and calibration.
 */
export const CleanPredictionsArtifact = defineArtifact({
  kind: 'clean-predictions',
  version: 2,
  producer: 'bucketing',
  columns: {
    id: 'int32',
    label: 'int32',
    correct: 'bool',
    confidence: 'float32',
    top5: { list: 'int32' },
    top5Prob: { list: 'float32' },
    /** The two largest scores (over the class outputs), largest first. */
    topScores: { list: 'float32' },
    /** log Σ exp(score) over the class outputs. */
    logSumExp: 'float32',
    /** In the calibration split (its full scores are in calibration.arrow). */
    calibration: 'bool',
  },
  metadata: z.object({ numClasses: z.number().int().positive(), scores: ScoresKind }),
});

/** bucketing → `calibration.arrow`: full scores of the seeded calibration split, by id. */
export const CalibrationArtifact = defineArtifact({
  kind: 'calibration',
  version: 1,
  producer: 'bucketing',
  columns: { id: 'int32', label: 'int32', scores: { list: 'float32' } },
  metadata: z.object({
    numClasses: z.number().int().positive(),
    scores: ScoresKind,
    /** As configured, and what it resolved to. */
    calibration: CalibrationConfig,
    seed: z.number().int(),
    images: z.number().int(),
    of: z.number().int(),
  }),
});

export const BucketThresholds = z.object({ high: z.number(), medium: z.number() });

export const BucketingMetadata = z.object({
  rule: BucketsConfig.shape.rule,
  /** The cut-offs actually used (the quantile rule computes them). */
  thresholds: BucketThresholds,
  perBucket: z.number().int().positive(),
  seed: z.number().int(),
  ...ImageShape,
  classNames: z.array(z.string()),
  numClasses: z.number().int().positive(),
  cleanAccuracy: z.object({ n: z.number().int(), top1: z.number(), top5: z.number() }),
  /** How many correct images qualified for each bucket before sampling. */
  qualified: z.record(BucketName, z.number().int()),
});
export type BucketingMetadata = z.infer<typeof BucketingMetadata>;

/** bucketing → `buckets.arrow`: the sampled, correctly classified images the attacks run on. */
export const BucketsArtifact = defineArtifact({
  kind: 'buckets',
  version: 2,
  producer: 'bucketing',
  columns: {
    id: 'int32',
    label: 'int32',
    bucket: 'utf8',
    confidence: 'float32',
    top5: { list: 'int32' },
    top5Prob: { list: 'float32' },
    /** Pixel values whose gradient is zero for every output at the clean image (ReLU/max-pool zeros). */
    structuralZeros: 'int32',
    image: { list: 'uint8' },
  },
  metadata: BucketingMetadata,
});

export const ResolvedAttack = AttackCombination.safeExtend({
  targeted: z.boolean(),
  steps: z.number().int().min(1),
  alpha: z.number().positive(),
});
export type ResolvedAttack = z.infer<typeof ResolvedAttack>;

/** attacks → `adversarial.arrow`: float32 adversarial images in [0,1] pixel space. */
export const AdversarialArtifact = defineArtifact({
  kind: 'adversarial',
  version: 2,
  producer: 'attacks',
  columns: {
    id: 'int32',
    label: 'int32',
    bucket: 'utf8',
    target: 'int32',
    /** Pixel values whose attack gradient was exactly zero at the first step. */
    zeroGradient: 'int32',
    image: { list: 'float32' },
  },
  metadata: z.object({
    attack: ResolvedAttack,
    seed: z.number().int(),
    /** The tfjs backend that computed the gradients (part of the task hash too). */
    backend: z.string(),
    ...ImageShape,
    classNames: z.array(z.string()),
  }),
});

/** evaluate → `metrics.arrow`: one row per adversarial image. */
export const MetricsArtifact = defineArtifact({
  kind: 'metrics',
  version: 2,
  producer: 'evaluate',
  columns: {
    id: 'int32',
    label: 'int32',
    bucket: 'utf8',
    target: 'int32',
    top5: { list: 'int32' },
    top5Prob: { list: 'float32' },
    cleanConfidence: 'float32',
    /** Probability of the true label on the adversarial image. */
    adversarialTrueProb: 'float32',
    top1Error: 'bool',
    top5Error: 'bool',
    targetHit: 'bool',
    linf: 'float32',
    l2: 'float32',
    /** Pixel values with a zero attack gradient at the first step, and structural zeros of the clean image. */
    zeroGradient: 'int32',
    structuralZeros: 'int32',
  },
  metadata: z.object({ attack: ResolvedAttack, quantize: z.boolean() }),
});

/** Per bucket: where the attack gradient was zero, against what the network explains (core/src/tf/gradient-diagnostics.ts). */
export const GradientDiagnostics = z.object({
  /** Images the attack left exactly as they were (L∞ = 0). */
  unperturbed: z.number().int(),
  /** Mean share of pixel values with a zero gradient at the first step. */
  zeroGradientShare: z.number(),
  /** Mean share of structural zeros (zero for every output) at the clean images: what ReLU and max-pool explain. */
  structuralZeroShare: z.number(),
  /** Images whose first-step gradient was zero everywhere although the network passes gradient to some pixel. */
  allZeroGradient: z.number().int(),
  /** Images with more zero-gradient pixels at the first step than structural zeros. */
  excessZeroGradient: z.number().int(),
});
export type GradientDiagnostics = z.infer<typeof GradientDiagnostics>;

export const BucketMetrics = z.object({
  bucket: BucketName,
  n: z.number().int(),
  top1Errors: z.number().int(),
  top5Errors: z.number().int(),
  top1Error: z.number(),
  top5Error: z.number(),
  targetSuccess: z.number().nullable(),
  meanLinf: z.number(),
  meanL2: z.number(),
  meanCleanConfidence: z.number(),
  meanAdversarialTrueProb: z.number(),
  diagnostics: GradientDiagnostics,
});
export type BucketMetrics = z.infer<typeof BucketMetrics>;

/** evaluate → `summary.json`: per-bucket aggregates of one combination. */
export const EvaluationSummary = z.object({
  schemaVersion: z.literal(2),
  attack: ResolvedAttack,
  quantize: z.boolean(),
  /** The backends (webgpu with its adapter) that computed the adversarial images and classified them. */
  backends: z.object({ attacks: z.string(), evaluate: z.string() }),
  buckets: z.array(BucketMetrics),
});
export type EvaluationSummary = z.infer<typeof EvaluationSummary>;

/** model → `model-info.json`. */
export const ModelInfo = z.object({
  schemaVersion: z.literal(1),
  source: z.enum(['trained', 'imported']),
  description: z.string(),
  format: z.enum(['layers', 'graph']),
  // The model spec (config.ts), field for field: one definition of input size, normalisation and output.
  input: ModelSpec.pick({ height: true, width: true, channels: true }),
  normalization: ModelSpec.shape.normalization,
  output: ModelSpec.shape.output,
  labelOffset: ModelSpec.shape.labelOffset,
  numClasses: z.number().int().positive(),
  classNames: z.array(z.string()),
  testAccuracy: z.number().nullable(),
  backend: z.string(),
  training: z.record(z.string(), z.unknown()).optional(),
  /** What the attack loss is differentiated from: logits (exact on confident images), or log-probabilities of a model whose softmax could not be stepped over. */
  lossScores: z.enum(['logits', 'log-probabilities']).default('logits'),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

const Interval = z.tuple([z.number(), z.number()]);

/** report → `summary.json`: one row per combination × bucket. */
export const ReportRow = z.object({
  combination: z.string(),
  method: z.string(),
  gradient: z.string(),
  eps: z.number(),
  norm: z.string(),
  steps: z.number().int(),
  alpha: z.number(),
  bucket: BucketName,
  n: z.number().int(),
  top1Errors: z.number().int(),
  top5Errors: z.number().int(),
  top1Error: z.number(),
  top5Error: z.number(),
  top1ErrorCI: Interval,
  top5ErrorCI: Interval,
  targetSuccess: z.number().nullable(),
  meanLinf: z.number(),
  meanL2: z.number(),
  meanCleanConfidence: z.number(),
  meanAdversarialTrueProb: z.number(),
  diagnostics: GradientDiagnostics,
});
export type ReportRow = z.infer<typeof ReportRow>;

export const Verdict = z.enum(['holds', 'does not hold', 'not significant']);
export type Verdict = z.infer<typeof Verdict>;

/**
 * The smallest difference in error rate a finding's test detects with `power` at level `alpha`, for a
 * typical comparison of that finding (medians over its comparisons): what "not significant" can rule out.
 */
export const MinimumDetectableDifference = z.object({
  /** |difference in error rate| (a fraction); null when no difference up to the largest possible is detectable. */
  value: z.number().nullable(),
  /** `mcnemar-exact`: paired, exact power; `two-proportion-z`: two independent buckets, normal approximation. */
  test: z.enum(['mcnemar-exact', 'two-proportion-z']),
  /** Images per bucket: pairs for McNemar, each of the two buckets for the z-test (median over comparisons). */
  n: z.number().int(),
  /**
   * The rate it is computed at (median over comparisons): McNemar, the discordant share ψ (images on
   * which exactly one side erred); z-test, the error rate the two buckets would share with no difference.
   */
  baseline: z.number(),
  power: z.number(),
  alpha: z.number(),
});
export type MinimumDetectableDifference = z.infer<typeof MinimumDetectableDifference>;

export const Finding = z.object({
  id: z.number().int(),
  claim: z.string(),
  verdict: Verdict,
  test: z.string(),
  comparisons: z.number().int(),
  /** Multiple-testing correction over this finding's comparisons, and its family-wise level. */
  correction: z.literal('holm'),
  alpha: z.number(),
  /** Comparisons in the claimed direction with Holm-adjusted p < alpha. */
  supporting: z.number().int(),
  /** Comparisons against the claim with Holm-adjusted p < alpha. */
  contradicting: z.number().int(),
  /** Comparisons against the claim but within noise (Holm-adjusted p ≥ alpha). */
  againstNotSignificant: z.number().int(),
  /** As `supporting` and `contradicting`, but at raw (unadjusted) p < alpha. */
  supportingRaw: z.number().int(),
  contradictingRaw: z.number().int(),
  /** Null when the finding has no comparison in this run. */
  minimumDetectableDifference: MinimumDetectableDifference.nullable(),
  detail: z.string(),
});
export type Finding = z.infer<typeof Finding>;

/** A combination × bucket whose gradients look masked (report/src/diagnostics.ts says when). */
export const GradientFlag = z.object({ combination: z.string(), bucket: BucketName, reason: z.string() });
export type GradientFlag = z.infer<typeof GradientFlag>;

/** 2: gradient diagnostics; findings count comparisons after a Holm correction, with raw counts and the minimum detectable difference. */
export const REPORT_SCHEMA_VERSION = 2;

export const ReportSummary = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  pipeline: z.string(),
  rows: z.array(ReportRow),
  findings: z.array(Finding),
  /** Possible gradient masking, and what the loss was differentiated from. */
  gradientDiagnostics: z.object({ lossScores: ModelInfo.shape.lossScores, flags: z.array(GradientFlag) }),
  setup: z.object({
    dataset: z.string(),
    preset: z.string().nullable(),
    model: z.string(),
    modelAccuracy: z.number().nullable(),
    numClasses: z.number().int(),
    classNames: z.array(z.string()),
    cleanAccuracy: z.object({ n: z.number().int(), top1: z.number(), top5: z.number() }),
    buckets: z.object({
      rule: z.string(),
      thresholds: BucketThresholds,
      perBucket: z.number().int(),
      qualified: z.record(z.string(), z.number().int()),
    }),
    images: z.number().int(),
    backend: z.string(),
    seed: z.number().int(),
    quantize: z.boolean(),
    /** Image files preprocessing skipped (unreadable, corrupt, not an image); null for Fashion-MNIST. */
    rejected: z.number().int().nullable().default(null),
    /** Images used although their decoder warned (corrupt JPEG scan data; preprocess/warnings.json); null for Fashion-MNIST. */
    decodeWarnings: z.number().int().nullable().default(null),
  }),
  /** The paper's own Table 1 (Inception V3 on ImageNet), kept apart from this run's rows. */
  paper: z.unknown(),
});
export type ReportSummary = z.infer<typeof ReportSummary>;

/**
 * gradsign-export: one combination's adversarial images as PNG files plus a CSV index. The PNGs hold
 * the float32 images rounded half to even to 8 bits — the same bytes evaluate's `quantize` stands
 * for — so classifying the exported files reproduces a `"quantize": true` evaluation.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AdversarialArtifact, GradsignError, MetricsArtifact, writeFileAtomic, type BucketName, type CliOption, type CliSpec } from '@gradsign/core';
import { openArtifact } from './read-artifact.ts';
import { classLabel, formatCsvNumber as num } from './format.ts';
import { encodePng, toBytes } from './images.ts';

/** gradsign-export's command line: its flags are exportCombination's options. */
export const EXPORT_CLI = {
  name: 'gradsign-export',
  summary: "write one combination's adversarial images as PNG files (8-bit, rounded half to even) with a CSV index",
  options: {
    artifacts: { type: 'string', required: true, description: "the pipeline's artifacts directory (artifacts/<pipeline>)" },
    combination: { type: 'string', description: 'the combination id, e.g. bim-inverse-eps8-255 (the folder name under attacks/); omit it to list them' },
    out: { type: 'string', required: true, description: 'output directory: <bucket>/<image id>.png and index.csv' },
  },
  examples: [
    'gradsign-export --artifacts artifacts/full --combination bim-inverse-eps8-255 --out exports/bim',
    'node packages/report/bin/gradsign-export.js --artifacts artifacts/smoke --combination fgsm-inverse-eps8-255 --out exports/fgsm',
  ],
} satisfies CliSpec<Record<string, CliOption>>;

/** What gradsign-export prints when it is done. */
export function exportMessage(r: ExportResult): string {
  return `wrote ${r.images} PNG files (${r.width}×${r.height}, ${r.channels === 1 ? 'grey' : `${r.channels} channels`}, 8-bit) and ${r.index}\n`;
}

export interface ExportOptions {
  /** The pipeline's artifacts directory (artifacts/<pipeline>). */
  artifacts: string;
  combination: string | undefined;
  out: string;
}

export interface ExportResult {
  images: number;
  index: string;
  height: number;
  width: number;
  channels: number;
}

export const INDEX_COLUMNS = [
  'file', 'id', 'bucket', 'label', 'labelName', 'prediction', 'predictionName', 'confidence',
  'adversarialTrueProb', 'cleanConfidence', 'top1Error', 'top5Error', 'targeted', 'target', 'targetName',
] as const;

const isDir = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);
const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

/** The combinations whose attack has finished in `artifacts` (attacks/<id>/adversarial.arrow exists), sorted. */
export async function listCombinations(artifacts: string): Promise<string[]> {
  const dir = path.join(artifacts, 'attacks');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const ids: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() && (await isFile(path.join(dir, e.name, 'adversarial.arrow')))) ids.push(e.name);
  }
  return ids.sort();
}

/** RFC 4180 CSV field. */
export function csvField(value: string | number | boolean): string {
  const s = String(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function exportCombination(options: ExportOptions): Promise<ExportResult> {
  const { artifacts, combination, out } = options;
  if (!(await isDir(artifacts))) {
    throw new GradsignError(`no artifacts directory at ${artifacts}`, {
      hint: 'pass --artifacts artifacts/<pipeline> of a pipeline that has run (`npx nx run pipeline:<name>`)',
    });
  }
  const available = await listCombinations(artifacts);
  const list = available.length ? available.join(', ') : '(none)';
  if (available.length === 0) {
    throw new GradsignError(`${artifacts} holds no attacked combinations (no attacks/<id>/adversarial.arrow)`, {
      hint: 'run the pipeline (`npx nx run pipeline:<name>`) first; its attacks stage writes them',
    });
  }
  if (!combination) {
    throw new GradsignError(`say which combination to export with --combination; available in ${artifacts}: ${list}`, { exitCode: 2 });
  }
  if (!available.includes(combination)) {
    throw new GradsignError(`no combination "${combination}" in ${artifacts}; available: ${list}`, {
      hint: 'pass one of the available ids to --combination (they are the folder names under attacks/)',
    });
  }
  const options_ = { pipeline: path.basename(path.resolve(artifacts)) };
  const evalStage = `evaluate stage for combination ${combination}`;

  // Predictions first (small): image id → its row of metrics.
  const predictions = new Map<number, { top5: number[]; top5Prob: number[]; adversarialTrueProb: number; cleanConfidence: number; top1Error: boolean; top5Error: boolean }>();
  const metrics = await openArtifact(MetricsArtifact, path.join(artifacts, 'evaluate', combination, 'metrics.arrow'), evalStage, options_);
  try {
    const k = metrics.listSizes.top5!;
    for await (const b of metrics.batches()) {
      for (let i = 0; i < b.id.length; i++) {
        predictions.set(b.id[i]!, {
          top5: Array.from(b.top5.subarray(i * k, (i + 1) * k)),
          top5Prob: Array.from(b.top5Prob.subarray(i * k, (i + 1) * k)),
          adversarialTrueProb: b.adversarialTrueProb[i]!,
          cleanConfidence: b.cleanConfidence[i]!,
          top1Error: b.top1Error[i] === 1,
          top5Error: b.top5Error[i] === 1,
        });
      }
    }
  } finally {
    await metrics.close();
  }

  const adv = await openArtifact(AdversarialArtifact, path.join(artifacts, 'attacks', combination, 'adversarial.arrow'), `attacks stage for combination ${combination}`, options_);
  const { height, width, channels, classNames, attack } = adv.metadata;
  const name = (k: number) => classLabel(classNames, k);
  const lines = [INDEX_COLUMNS.join(',')];
  let images = 0;
  try {
    const size = adv.listSizes.image!;
    for await (const b of adv.batches()) {
      for (let i = 0; i < b.id.length; i++) {
        const id = b.id[i]!;
        const label = b.label[i]!;
        const bucket = b.bucket[i] as BucketName;
        const p = predictions.get(id);
        if (!p) {
          throw new GradsignError(`${combination}: image ${id} is in the attack's output but not in its evaluation`, {
            hint: `the evaluation is older than the attack: rerun the ${evalStage}`,
          });
        }
        const file = `${bucket}/${id}.png`;
        const png = await encodePng(toBytes(b.image.subarray(i * size, (i + 1) * size)), height, width, channels);
        await writeFileAtomic(path.join(out, file), png);
        const prediction = p.top5[0]!;
        const target = b.target[i]!;
        lines.push(
          [
            file, id, bucket, label, name(label), prediction, name(prediction), num(p.top5Prob[0]!),
            num(p.adversarialTrueProb), num(p.cleanConfidence), p.top1Error, p.top5Error,
            // Untargeted attacks (inverse) record the class they push away from: the true label.
            attack.targeted, target, name(target),
          ]
            .map((v) => csvField(v))
            .join(','),
        );
        images++;
      }
    }
  } finally {
    await adv.close();
  }
  const index = path.join(out, 'index.csv');
  await writeFileAtomic(index, lines.join('\n') + '\n');
  return { images, index, height, width, channels };
}

/**
 * `npm run bench -- scale [--json] [--sizes 2000,20000] [--distinct 256] [--backend wasm] [--dir .tmp]`
 *
 * The paper's setting at ImageNet scale, on synthetic data made here: 500×375 JPEGs named and
 * labelled like the ILSVRC2012 validation set (ground truth + synset map), a 1,000-output tfjs
 * model, and the real stage functions — preprocess (preset slim, 299×299×3) → model import →
 * bucketing (clean predictions) — once per size, each in its own child process so that its peak
 * RSS (VmHWM) is its own. Memory must not grow with the number of images: peak RSS at the largest
 * size must stay within 20% of the smallest.
 *
 * Bytes written: the stages' output directories (preprocess, model, bucketing), file by file.
 * Nx copies each cached task's output directory into .nx/cache, so the bytes that reach the cache
 * equal these (measured as the output sizes, not by running Nx here). What grows with the number of
 * images must stay under 1 KB per image that is not sampled, the calibration split (calibration.arrow,
 * of a fixed size) not counted: preprocess writes an index, not pixels, and only the sampled images'
 * pixels are stored (buckets.arrow).
 *
 * A few hundred distinct JPEGs are generated and hard-linked under the validation names, so
 * 20,000 files cost seconds and little disk. Everything is deleted afterwards.
 */
import { spawn } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { log } from '@gradsign/core';
import { selectBackend } from '@gradsign/core/tf';
import {
  NUM_CLASSES,
  classImage,
  classOfIlsvrcId,
  labelFileText,
  saveColourClassifierLayers,
  synsetOf,
} from '../test/fixtures/imagenet-like.ts';

const SIDE = 299;
const SOURCE = { width: 500, height: 375 };
const CHILD_ENV = 'GRADSIGN_SCALE_CHILD';

interface ChildArgs {
  dir: string;
  groundTruth: string;
  synsetMap: string;
  labels: string;
  modelSource: string;
  out: string;
  backend: string;
}

interface ChildResult {
  images: number;
  preprocessSeconds: number;
  importSeconds: number;
  bucketingSeconds: number;
  top1: number;
  /** Peak resident set size of the child, bytes. */
  vmHwm: number;
  /** Peak RSS during preprocessing, and during import + bucketing (VmHWM reset in between); null where the kernel cannot reset it. */
  preprocessPeak: number | null;
  predictPeak: number | null;
  /** Bytes each stage wrote (its output directory), and calibration.arrow's share of bucketing's. */
  bytes: { preprocess: number; model: number; bucketing: number; calibration: number };
}

/** Total size of the files under `dir`. */
async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Peak RSS of this process (Linux), bytes. */
async function peakRss(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  const kb = /VmHWM:\s+(\d+)\s+kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : Number.NaN;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false where not allowed. */
async function resetPeakRss(): Promise<boolean> {
  return writeFile('/proc/self/clear_refs', '5').then(() => true, () => false);
}

/** Runs the three stages over one folder; prints its ChildResult as the last line of stdout. */
async function childMain(args: ChildArgs): Promise<void> {
  const [{ preprocess }, { buildModel }, { bucketing }, { selectBackend }] = await Promise.all([
    import('@gradsign/preprocess'),
    import('@gradsign/model'),
    import('@gradsign/bucketing'),
    import('@gradsign/core/tf'),
  ]);
  const backend = await selectBackend(args.backend as 'wasm');
  const data = path.join(args.out, 'preprocess');
  const model = path.join(args.out, 'model');
  const seconds = (t: number) => (performance.now() - t) / 1000;
  let t = performance.now();
  const dataset = { kind: 'image-folder', dir: args.dir, layout: 'flat', groundTruth: args.groundTruth, groundTruthFormat: 'ilsvrc2012', synsetMap: args.synsetMap, labels: args.labels, preset: 'slim' };
  await preprocess({ dataset, input: { height: SIDE, width: SIDE, channels: 3 } }, data);
  const preprocessSeconds = seconds(t);
  const preprocessPeak = await peakRss();
  const reset = await resetPeakRss();
  t = performance.now();
  const spec = { height: SIDE, width: SIDE, channels: 3, normalization: 'unit', output: 'probabilities' };
  await buildModel({ model: { kind: 'tfjs', path: args.modelSource, labels: args.labels, spec }, backend }, data, model);
  const importSeconds = seconds(t);
  t = performance.now();
  const meta = await bucketing({ buckets: { rule: 'quantile', perBucket: 50 }, seed: 0, batchSize: 64, backend }, data, model, path.join(args.out, 'bucketing'));
  const bucketingSeconds = seconds(t);
  const predictPeak = await peakRss();
  const calibrationFile = path.join(args.out, 'bucketing', 'calibration.arrow');
  const bytes = {
    preprocess: await bytesUnder(data),
    model: await bytesUnder(model),
    bucketing: await bytesUnder(path.join(args.out, 'bucketing')),
    calibration: (await stat(calibrationFile)).size + (await stat(`${calibrationFile}.sha256`)).size,
  };
  const result: ChildResult = {
    bytes,
    images: meta.cleanAccuracy.n,
    preprocessSeconds,
    importSeconds,
    bucketingSeconds,
    top1: meta.cleanAccuracy.top1,
    vmHwm: reset ? Math.max(preprocessPeak, predictPeak) : predictPeak,
    preprocessPeak: reset ? preprocessPeak : null,
    predictPeak: reset ? predictPeak : null,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function runChild(args: ChildArgs): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD_ENV]: JSON.stringify(args) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`scale child exited with ${code}: ${stdout.slice(-500)}`));
      else resolve(JSON.parse(last) as ChildResult);
    });
  });
}

/** `count` distinct 500×375 JPEGs of varied classes (colour, noise and stripes differ). */
async function makeSources(dir: string, count: number): Promise<{ file: string; label: number }[]> {
  await mkdir(dir, { recursive: true });
  const sources: { file: string; label: number }[] = [];
  for (let s = 0; s < count; s++) {
    const label = (s * 389 + 11) % NUM_CLASSES;
    const file = path.join(dir, `source_${s}.jpg`);
    const raw = classImage(label, SOURCE.width, SOURCE.height, s, 16 + (s % 5) * 6);
    await writeFile(file, await sharp(raw, { raw: { ...SOURCE, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    sources.push({ file, label });
  }
  return sources;
}

/** An ILSVRC2012-style validation folder of `n` hard links, with its ground truth. */
async function makeValidationFolder(root: string, n: number, sources: { file: string; label: number }[]): Promise<{ dir: string; groundTruth: string }> {
  const dir = path.join(root, `val-${n}`);
  await mkdir(dir, { recursive: true });
  const ilsvrcIdOf = new Int32Array(NUM_CLASSES);
  for (let j = 1; j <= NUM_CLASSES; j++) ilsvrcIdOf[classOfIlsvrcId(j)] = j;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const source = sources[i % sources.length]!;
    await link(source.file, path.join(dir, `ILSVRC2012_val_${String(i + 1).padStart(8, '0')}.JPEG`));
    lines.push(String(ilsvrcIdOf[source.label]));
  }
  const groundTruth = path.join(root, `ground-truth-${n}.txt`);
  await writeFile(groundTruth, lines.join('\n') + '\n');
  return { dir, groundTruth };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

export async function run(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '2000,20000' },
      distinct: { type: 'string', default: '256' },
      backend: { type: 'string', default: 'wasm' },
      // On disk, not /tmp (often RAM-backed tmpfs).
      dir: { type: 'string', default: path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.tmp') },
    },
  });
  const sizes = values.sizes.split(',').map(Number);
  await selectBackend(values.backend as 'wasm', { quiet: true }); // for building the model here
  await mkdir(values.dir, { recursive: true });
  const root = await mkdtemp(path.join(values.dir, 'gradsign-scale-'));
  const runs: (ChildResult & { n: number })[] = [];
  try {
    let t = performance.now();
    const sources = await makeSources(path.join(root, 'sources'), Number(values.distinct));
    const labels = path.join(root, 'labels.txt');
    const synsetMap = path.join(root, 'synsets.txt');
    await writeFile(labels, labelFileText());
    await writeFile(synsetMap, Array.from({ length: NUM_CLASSES }, (_, i) => `${synsetOf(classOfIlsvrcId(i + 1))}\n`).join(''));
    const modelSource = path.join(root, 'model-source');
    await saveColourClassifierLayers(modelSource, SIDE, SIDE);
    log(`scale: ${sources.length} distinct ${SOURCE.width}×${SOURCE.height} JPEGs and a 1,000-output model in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    for (const n of sizes) {
      t = performance.now();
      const { dir, groundTruth } = await makeValidationFolder(root, n, sources);
      log(`scale: ${n} files linked in ${((performance.now() - t) / 1000).toFixed(1)} s; running the stages in a child process`);
      const out = path.join(root, `artifacts-${n}`);
      const result = await runChild({ dir, groundTruth, synsetMap, labels, modelSource, out, backend: values.backend });
      runs.push({ n, ...result });
      log(
        `scale: ${n} images: preprocess ${(n / result.preprocessSeconds).toFixed(0)} img/s, clean predictions ${(n / result.bucketingSeconds).toFixed(0)} img/s, ` +
          `top-1 ${(result.top1 * 100).toFixed(1)}%, peak RSS ${mib(result.vmHwm)}` +
          (result.preprocessPeak !== null && result.predictPeak !== null ? ` (preprocess ${mib(result.preprocessPeak)}, import + predictions ${mib(result.predictPeak)})` : '') +
          `; written to artifacts/ (and as much to .nx/cache): preprocess ${kib(result.bytes.preprocess)}, model ${kib(result.bytes.model)}, ` +
          `bucketing ${kib(result.bytes.bucketing)} (calibration.arrow ${kib(result.bytes.calibration)})`,
      );
      await rm(dir, { recursive: true, force: true });
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const first = runs[0]!;
  const last = runs[runs.length - 1]!;
  const ratio = last.vmHwm / first.vmHwm;
  const largest = runs.reduce((a, b) => (b.n > a.n ? b : a));
  const smallest = runs.reduce((a, b) => (b.n < a.n ? b : a));
  const written = (r: ChildResult) => r.bytes.preprocess + r.bytes.model + r.bytes.bucketing;
  // Sampled images and the calibration split are the same at every size: the growth is per image not sampled.
  const growthPerImage = (written(largest) - largest.bytes.calibration - (written(smallest) - smallest.bytes.calibration)) / (largest.n - smallest.n);
  const result = {
    bytesWritten: Object.fromEntries(runs.map((r) => [r.n, { ...r.bytes, artifacts: written(r), nxCache: written(r) }])),
    bytesPerImage: growthPerImage,
    bytesPerImageUnder1KB: growthPerImage < 1024,
    rss2k: runs.find((r) => r.n === 2000)?.vmHwm ?? null,
    rss20k: runs.find((r) => r.n === 20000)?.vmHwm ?? null,
    rssRatio: ratio,
    rssWithin20Percent: ratio <= 1.2,
    preprocessImagesPerSecond: largest.n / largest.preprocessSeconds,
    predictImagesPerSecond: largest.n / largest.bucketingSeconds,
    runs,
    backend: values.backend,
  };
  log(
    `scale: peak RSS ${runs.map((r) => `${r.n}: ${mib(r.vmHwm)}`).join(', ')} (×${ratio.toFixed(3)}, ${result.rssWithin20Percent ? 'within' : 'NOT within'} 20%); ` +
      `preprocess ${result.preprocessImagesPerSecond.toFixed(0)} img/s, clean predictions ${result.predictImagesPerSecond.toFixed(0)} img/s (slim, ${SIDE}×${SIDE}, ${values.backend}); ` +
      `bytes written grow by ${growthPerImage.toFixed(0)} B per image not sampled, calibration split not counted (${result.bytesPerImageUnder1KB ? 'under' : 'NOT under'} 1 KB), ` +
      'twice over with the Nx cache\'s copy',
  );
  return result;
}

if (process.env[CHILD_ENV]) {
  await childMain(JSON.parse(process.env[CHILD_ENV]) as ChildArgs);
}

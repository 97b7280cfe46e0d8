/**
 * `npm run bench -- inception [--json] [--size 75|149|299] [--batches 8,16,32] [--rounds 3]
 *  [--methods fgsm,bim] [--no-torch] [--no-profile]`
 *
 * Attack throughput (images/s) on the Inception V3 stand-in (test/fixtures/inception-v3.ts: Keras
 * topology, seeded weights, 1,000 classes, Inception normalisation, softmax out) on wasm, through
 * the attack engine's public API (the model is not a chain, so gradients take the tf.grad path):
 *
 *  - FGSM: one input-gradient step incl. sign and clip (ε = 8/255)
 *  - BIM:  10 steps (α = 1/255), each projected onto the ε-box
 *
 * with 1 worker (in-process) and `auto` workers (one per core), against PyTorch CPU in the same run:
 * torchvision's inception_v3(weights=None, init_weights=True, aux_logits=False), 2 threads, same
 * input size, batch and workload (bench/inception/torch_inception.py, kept up as a server). Each
 * round times, per batch and method, PyTorch once and each gradsign variant once, back to back (after
 * one warm-up each); a cell is the median over rounds, and `ratio` per batch and method is the median
 * over rounds of (faster gradsign variant ÷ PyTorch) in that round; `ratioOfBest` divides the
 * fastest run of each side (under intermittent load, the least disturbed estimate).
 *
 * Then a per-kernel profile of one FGSM batch (smallest batch, 1 thread), with the convolution
 * kernels' GFLOP/s and the weight-gradient (Conv2DBackpropFilter) share of the kernel time.
 * An error in one cell (e.g. wasm's 4 GB memory at 299×299 and a large batch) is reported in that
 * cell; the rest goes on.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Rng, formatError, log, type ModelSpec, type ResolvedAttack } from '@gradsign/core';
import { initWasm, tf } from '@gradsign/core/tf';
import { AttackPool, attackBatch, loadAttackModel, resolveAttack, serializeLayersModel, type AttackBatch, type ModelSource } from '@gradsign/attacks';
import { buildInceptionV3, convFlops } from '../test/fixtures/inception-v3.ts';
import { profileKernels } from './inception/profile.ts';
import { startTorch, type TorchServer } from './inception/torch-server.ts';
import { fmt, median, option, stats, time, type Stats } from './lib/measure.ts';

const CLASSES = 1000;
const EPS = 8 / 255;
const BIM_STEPS = 10;
type Method = 'fgsm' | 'bim';

interface Runner {
  name: string;
  run(attack: ResolvedAttack, batch: AttackBatch): Promise<unknown>;
  close(): Promise<void> | void;
}

function makeBatch(n: number, size: number): AttackBatch {
  const rng = new Rng(1234);
  return {
    ids: Int32Array.from({ length: n }, (_, i) => i),
    labels: Int32Array.from({ length: n }, () => rng.int(CLASSES)),
    top5: Int32Array.from({ length: n * 5 }, () => rng.int(CLASSES)),
    pixels: Float32Array.from({ length: n * size * size * 3 }, () => rng.next()),
  };
}

async function runners(source: ModelSource & { kind: 'artifacts' }): Promise<Runner[]> {
  await tf.setBackend('wasm');
  const model = await loadAttackModel(source, 'auto');
  const pool = await AttackPool.create({ source, workers: 'auto', backend: 'wasm' });
  return [
    { name: `wasm 1 worker (${model.gradientPath})`, run: async (a, b) => attackBatch(model, a, b, 0), close: () => model.dispose() },
    { name: `wasm ${pool.workers} workers (auto)`, run: (a, b) => pool.run(a, b, 0), close: () => pool.close() },
  ];
}

/** One timed run (the first call per cell is a warm-up); the error text instead when it fails. */
async function once(fn: () => Promise<unknown>, warm: boolean): Promise<number | string> {
  try {
    return (await time(fn, 1, !warm))[0]!;
  } catch (error) {
    return formatError(error).split('\n')[0]!;
  }
}

interface Cell {
  variant: string;
  method: Method;
  batch: number;
  stats: Stats | null;
  error?: string;
}

export async function run(argv: string[]): Promise<object> {
  const size = Number(option(argv, 'size') ?? 299);
  const batches = (option(argv, 'batches') ?? '8,16,32').split(',').map(Number);
  const rounds = Number(option(argv, 'rounds') ?? 3);
  const methods = (option(argv, 'methods') ?? 'fgsm,bim').split(',') as Method[];
  log(
    `bench inception: Inception V3 stand-in ${size}×${size}×3 → ${CLASSES}, FGSM and BIM${BIM_STEPS} (ε = 8/255), batches ${batches.join(', ')}, ${rounds} rounds; ` +
      `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  if (!(await initWasm())) throw new Error('the wasm backend does not load');
  tf.enableProdMode();
  const built = buildInceptionV3({ size });
  const gflopPerImage = [...convFlops(built).values()].reduce((a, b) => a + b, 0) / 1e9;
  const source = {
    kind: 'artifacts' as const,
    artifacts: await serializeLayersModel(built),
    spec: { height: size, width: size, channels: 3, normalization: 'inception', output: 'probabilities', labelOffset: 0 } satisfies ModelSpec,
    numClasses: CLASSES,
  };
  built.dispose();
  log(`conv forward: ${gflopPerImage.toFixed(2)} GFLOP per image`);

  let torch: TorchServer | undefined;
  let torchError: string | undefined;
  if (!argv.includes('--no-torch')) {
    try {
      torch = await startTorch({ size, eps: EPS, bimSteps: BIM_STEPS, threads: 2 });
      log(`PyTorch: ${torch.version}, ${torch.threads} threads`);
    } catch (error) {
      torchError = (error as Error).message;
      log(`PyTorch: ${torchError}`);
    }
  }
  const ours = await runners(source);
  const attacks = { fgsm: resolveAttack({ method: 'fgsm', gradient: 'inverse', eps: EPS }, CLASSES), bim: resolveAttack({ method: 'bim', gradient: 'inverse', eps: EPS, steps: BIM_STEPS }, CLASSES) };
  const seconds = new Map<string, (number | string)[]>();
  const record = (variant: string, method: Method, batch: number, s: number | string) => {
    const key = `${variant}|${method}|${batch}`;
    seconds.set(key, [...(seconds.get(key) ?? []), s]);
  };
  const ratioRounds: { method: Method; batch: number; round: number; ratio: number }[] = [];
  try {
    for (const batch of batches) {
      const data = makeBatch(batch, size);
      for (let round = 0; round < rounds; round++) {
        for (const method of methods) {
          const torchSeconds = torch ? (await torch.seconds(method, batch, 1))[0]! : undefined;
          if (torchSeconds !== undefined) record('pytorch', method, batch, torchSeconds);
          const mine: number[] = [];
          for (const r of ours) {
            const s = await once(() => r.run(attacks[method], data), round > 0);
            record(r.name, method, batch, s);
            if (typeof s === 'number') mine.push(s);
          }
          const line = [torchSeconds, ...mine].map((s) => (s === undefined ? '-' : (batch / s).toFixed(2))).join(' / ');
          log(`  batch ${batch} round ${round + 1} ${method}: img/s PyTorch / ${ours.map((r) => r.name).join(' / ')}: ${line}`);
          if (torchSeconds !== undefined && mine.length) ratioRounds.push({ method, batch, round, ratio: torchSeconds / Math.min(...mine) });
        }
      }
    }
  } finally {
    torch?.close();
    for (const r of ours) await r.close();
  }

  const cells: Cell[] = [...seconds].map(([key, values]) => {
    const [variant, method, batch] = key.split('|') as [string, Method, string];
    const times = values.filter((v): v is number => typeof v === 'number');
    const error = values.find((v): v is string => typeof v === 'string');
    return { variant, method, batch: Number(batch), stats: times.length ? stats(Number(batch), times) : null, ...(error ? { error } : {}) };
  });
  const ratios = methods.flatMap((method) =>
    batches.flatMap((batch) => {
      const r = ratioRounds.filter((x) => x.method === method && x.batch === batch).map((x) => x.ratio);
      if (!r.length) return [];
      // Under intermittent load the fastest run of each side is the least disturbed estimate.
      const best = (variant: (c: Cell) => boolean) => Math.max(...cells.filter((c) => c.method === method && c.batch === batch && variant(c) && c.stats).map((c) => c.stats!.max));
      return [{ method, batch, ratio: median(r), rounds: r, ratioOfBest: best((c) => c.variant !== 'pytorch') / best((c) => c.variant === 'pytorch') }];
    }),
  );
  log(`img/s (median of ${rounds} rounds) at ${size}×${size}:`);
  for (const c of cells) log(`  ${c.variant.padEnd(28)} ${c.method.padEnd(4)} batch ${String(c.batch).padStart(3)}  ${c.stats ? fmt(c.stats, 2) : `error: ${c.error}`}`);
  for (const r of ratios) log(`  ratio gradsign (faster variant) ÷ PyTorch, ${r.method} batch ${r.batch}: ${r.ratio.toFixed(3)} (rounds ${r.rounds.map((x) => x.toFixed(3)).join(', ')}; fastest runs ${r.ratioOfBest.toFixed(3)})`);

  let profile: Awaited<ReturnType<typeof profileKernels>> | undefined;
  if (!argv.includes('--no-profile')) {
    const batch = Math.min(...batches);
    const model = await loadAttackModel(source, 'auto');
    const data = makeBatch(batch, size);
    attackBatch(model, attacks.fgsm, data, 0);
    profile = await profileKernels(() => attackBatch(model, attacks.fgsm, data, 0));
    model.dispose();
    log(`profile, one FGSM batch of ${batch} at ${size}×${size}, wasm, 1 thread, ${model.gradientPath} (kernel total ${profile.kernelMs.toFixed(0)} ms, wall ${profile.wallMs.toFixed(0)} ms):`);
    for (const k of profile.kernels.slice(0, 12)) {
      const flops = k.gflops !== undefined ? `  ${k.gflop!.toFixed(1)} GFLOP, ${k.gflops.toFixed(1)} GFLOP/s` : '';
      log(`  ${k.ms.toFixed(0).padStart(7)} ms ${(100 * k.share).toFixed(1).padStart(5)}%  ${String(k.calls).padStart(4)}×  ${k.kernel}${flops}`);
    }
    log(`weight gradients (Conv2DBackpropFilter), not needed by an attack: ${(100 * profile.filterGradientShare).toFixed(1)}% of the kernel time`);
  }

  return {
    suite: 'inception',
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? null, node: process.version, parallelism: availableParallelism(), loadAfter: loadavg() },
    model: `Inception V3 stand-in (Keras topology, seeded weights) ${size}×${size}×3, ${CLASSES} classes; conv forward ${gflopPerImage.toFixed(2)} GFLOP/image`,
    settings: { size, eps: EPS, bimSteps: BIM_STEPS, batches, rounds, methods },
    torch: torch ? { version: torch.version, threads: torch.threads } : { error: torchError ?? 'skipped (--no-torch)' },
    results: cells,
    ratios,
    ...(profile ? { profile } : {}),
  };
}

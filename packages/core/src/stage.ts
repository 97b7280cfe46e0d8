/**
 * What every pipeline stage is, declared once: its config schema, the directories it reads, the one
 * it writes, and the function that does the work. Each stage's CLI is built from that declaration
 * (flags, --help, the --backend override), so the six CLIs are one line each.
 */
import type { z } from 'zod';
import { readConfigArg, runCli, type CliOption } from './cli.ts';
import { BACKENDS } from './config.ts';
import { FileSystemError, fileSystemError } from './fs-errors.ts';

export interface StageDefinition<I extends string, R> {
  /** The CLI's name, e.g. `gradsign-bucketing`. */
  name: string;
  summary: string;
  /** The stage config (`--config`); a `backend` field gets a `--backend` override flag. */
  config: z.ZodObject;
  /** What `--config` holds, for --help, e.g. `{"buckets": {...}, "seed": 0}`. */
  configExample: string;
  /** Input directories by flag, each with what it must contain. */
  inputs: Record<I, string>;
  /** What `--out` receives. */
  output: string;
  examples?: string[];
  run(config: unknown, dirs: Record<I | 'out', string>): Promise<R>;
  /** What the CLI prints on stdout after a successful run (logs go to stderr). */
  printResult?(result: R, dirs: Record<I | 'out', string>): string;
}

/** Declares a stage (an identity function that keeps the input flags' types). */
export function defineStage<I extends string, R>(stage: StageDefinition<I, R>): StageDefinition<I, R> {
  return stage;
}

const dirOption = (description: string): CliOption => ({ type: 'string', required: true, description });

/** Runs a stage from the command line. */
export async function runStageCli<I extends string, R>(stage: StageDefinition<I, R>, argv = process.argv.slice(2)): Promise<void> {
  const hasBackend = 'backend' in stage.config.shape;
  const options: Record<string, CliOption> = {
    config: { type: 'string', required: true, description: `stage config: JSON text or the path of a JSON file (${stage.configExample})` },
    ...Object.fromEntries(Object.entries<string>(stage.inputs).map(([flag, description]) => [flag, dirOption(description)])),
    out: dirOption(`output directory (${stage.output})`),
    ...(hasBackend ? { backend: { type: 'string', description: `override the config's backend: ${BACKENDS.join('|')}` } satisfies CliOption } : {}),
  };
  await runCli({ name: stage.name, summary: stage.summary, options, ...(stage.examples ? { examples: stage.examples } : {}) }, async (values) => {
    const { config, backend, ...dirs } = values as Record<string, string | undefined>;
    const raw = (await readConfigArg(config!)) as Record<string, unknown>;
    let result: R;
    try {
      result = await stage.run(backend ? { ...raw, backend } : raw, dirs as Record<I | 'out', string>);
    } catch (error) {
      const explained = fileSystemError(error, dirs.out!);
      throw explained instanceof FileSystemError ? explained.inStage(`${stage.name} stage`) : explained;
    }
    if (stage.printResult) process.stdout.write(stage.printResult(result, dirs as Record<I | 'out', string>));
  }, argv);
}

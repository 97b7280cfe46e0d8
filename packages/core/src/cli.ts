import { parseArgs } from 'node:util';
import { GradsignError, formatError } from './errors.ts';

export interface CliOption {
  type: 'string' | 'boolean';
  description: string;
  required?: boolean;
  default?: string | boolean;
  multiple?: boolean;
}

export interface CliSpec<O extends Record<string, CliOption>> {
  name: string;
  summary: string;
  options: O;
  examples?: string[];
}

type Values<O extends Record<string, CliOption>> = {
  [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string;
};

export function helpText(spec: CliSpec<Record<string, CliOption>>): string {
  const lines = [`${spec.name} — ${spec.summary}`, '', `Usage: ${spec.name} [options]`, '', 'Options:'];
  const entries = Object.entries(spec.options);
  const width = Math.max(...entries.map(([k, o]) => k.length + (o.type === 'string' ? 8 : 0)), 6) + 4;
  for (const [key, option] of entries) {
    const flag = `--${key}${option.type === 'string' ? ' <value>' : ''}`;
    const extra = option.required ? ' (required)' : option.default !== undefined ? ` (default: ${option.default})` : '';
    lines.push(`  ${flag.padEnd(width)}${option.description}${extra}`);
  }
  lines.push(`  ${'--help'.padEnd(width)}show this help`);
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/** Parses argv against `spec`; unknown or missing options are user errors that name the flag. */
export function parseCli<O extends Record<string, CliOption>>(spec: CliSpec<O>, argv: string[]): Values<O> | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([k, o]) => [
      k,
      { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.default !== undefined ? { default: o.default } : {}) },
    ]),
  );
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options: options as never, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new GradsignError(`${spec.name}: ${(error as Error).message}`, {
      hint: `run \`${spec.name} --help\` for the options`,
      exitCode: 2,
    });
  }
  for (const [key, option] of Object.entries(spec.options)) {
    if (option.required && values[key] === undefined) {
      throw new GradsignError(`${spec.name}: missing required option --${key} (${option.description})`, {
        hint: `run \`${spec.name} --help\` for the options`,
        exitCode: 2,
      });
    }
  }
  return values as Values<O>;
}

/** Runs a CLI's main with consistent help, error output and exit codes. */
export async function runCli<O extends Record<string, CliOption>>(
  spec: CliSpec<O>,
  main: (values: Values<O>) => Promise<void>,
  argv = process.argv.slice(2),
): Promise<void> {
  try {
    const values = parseCli(spec, argv);
    if (values === 'help') {
      process.stdout.write(helpText(spec as CliSpec<Record<string, CliOption>>));
      return;
    }
    await main(values);
  } catch (error) {
    process.stderr.write(formatError(error) + '\n');
    process.exitCode = error instanceof GradsignError ? error.exitCode : 1;
  }
}

/** A `--config` value: inline JSON text, or the path of a JSON file. */
export async function readConfigArg(value: string): Promise<unknown> {
  const { readFile } = await import('node:fs/promises');
  const text = value.trimStart().startsWith('{') ? value : await readFile(value, 'utf8').catch(() => {
    throw new GradsignError(`--config: cannot read ${value}`, { hint: 'pass JSON text or the path of a JSON file' });
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new GradsignError(`--config is not valid JSON: ${(error as Error).message}`, { hint: 'quote the JSON for your shell' });
  }
}

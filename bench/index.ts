/**
 * `npm run bench -- <suite> [--json] [suite options]`: suites live in bench/<suite>.ts and export
 * `run(argv): Promise<BenchResult>`. Human-readable output goes to stderr; with --json the result
 * is printed as one JSON object on the last line of stdout.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatError } from '@gradsign/core';

export interface BenchResult {
  [key: string]: unknown;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const suites = (await readdir(here)).filter((f) => f.endsWith('.ts') && !['index.ts', 'util.ts'].includes(f)).map((f) => f.slice(0, -3));
const [suite, ...rest] = process.argv.slice(2);
const json = rest.includes('--json');

if (!suite || suite === '--help' || suite === '-h' || !suites.includes(suite)) {
  process.stderr.write(
    `usage: npm run bench -- <suite> [--json] [options]\n\nsuites: ${suites.join(', ')}\n` +
      '  --json   print the result as one JSON object on the last line of stdout (everything else on stderr)\n',
  );
  process.exitCode = suite && suite !== '--help' && suite !== '-h' ? 2 : 0;
} else {
  try {
    const mod = (await import(`./${suite}.ts`)) as { run(argv: string[]): Promise<BenchResult> };
    const result = await mod.run(rest.filter((a) => a !== '--json'));
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
  } catch (error) {
    process.stderr.write(formatError(error) + '\n');
    process.exitCode = 1;
  }
}

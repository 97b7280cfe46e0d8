import { parseArgs } from 'node:util';
import {
  DEFAULT_HOST,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  DEFAULT_PORT,
  isUsableToken,
  type CacheServerOptions,
} from './options.ts';

export const USAGE = `Usage: gradsign-cache-server --dir <path> [options]

Self-hosted Nx remote cache (NX_SELF_HOSTED_REMOTE_CACHE_SERVER protocol).

Options:
  --dir <path>              Directory for cache entries (required; use a dedicated one)
  --port <port>             Port to listen on (default ${DEFAULT_PORT}; 0 picks a free port)
  --host <host>             Interface to bind (default ${DEFAULT_HOST})
  --read-token <t>          Token that may download; repeatable or comma-separated
  --write-token <t>         Token that may download and upload; repeatable or comma-separated
  --max-entry-bytes <size>  Largest entry accepted (default 512MiB)
  --max-total-bytes <size>  Evict least recently used entries beyond this (default 10GiB)
  -h, --help                Show this help

Sizes take an optional unit: K/M/G/T or KiB/MiB/GiB/TiB (1024-based), KB/MB/GB/TB (1000-based).

Environment (keeps tokens out of \`ps\`; comma-separated, added to the flags):
  GRADSIGN_CACHE_READ_TOKENS, GRADSIGN_CACHE_WRITE_TOKENS
`;

/** A command line mistake: printed with a hint, exit code 2. */
export class UsageError extends Error {}

export type CliCommand = { kind: 'help' } | { kind: 'serve'; options: CacheServerOptions };

export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        dir: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'read-token': { type: 'string', multiple: true },
        'write-token': { type: 'string', multiple: true },
        'max-entry-bytes': { type: 'string' },
        'max-total-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    // parseArgs messages already name the offending flag.
    throw new UsageError(`${(error as Error).message}\nRun with --help to see the options.`);
  }
  if (values.help) return { kind: 'help' };

  if (values.dir === undefined || values.dir.trim() === '') {
    throw new UsageError('--dir is required: pass the directory to store cache entries in, e.g. --dir /var/cache/nx');
  }
  const readTokens = [...splitTokens(values['read-token'] ?? []), ...splitTokens([env.GRADSIGN_CACHE_READ_TOKENS ?? ''])];
  const writeTokens = [...splitTokens(values['write-token'] ?? []), ...splitTokens([env.GRADSIGN_CACHE_WRITE_TOKENS ?? ''])];
  if (readTokens.length + writeTokens.length === 0) {
    throw new UsageError(
      'no access tokens configured: pass --write-token/--read-token or set ' +
        'GRADSIGN_CACHE_WRITE_TOKENS/GRADSIGN_CACHE_READ_TOKENS (the env vars keep tokens out of `ps`)',
    );
  }
  for (const [flag, tokens] of [['--read-token', readTokens], ['--write-token', writeTokens]] as const) {
    if (tokens.some((token) => !isUsableToken(token))) {
      throw new UsageError(`${flag}: tokens must be printable ASCII without spaces`);
    }
  }

  return {
    kind: 'serve',
    options: {
      dir: values.dir,
      port: values.port === undefined ? DEFAULT_PORT : parsePort(values.port),
      host: values.host ?? DEFAULT_HOST,
      readTokens,
      writeTokens,
      maxEntryBytes: parseSizeFlag('--max-entry-bytes', values['max-entry-bytes'], DEFAULT_MAX_ENTRY_BYTES),
      maxTotalBytes: parseSizeFlag('--max-total-bytes', values['max-total-bytes'], DEFAULT_MAX_TOTAL_BYTES),
    },
  };
}

function splitTokens(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(',')).map((token) => token.trim()).filter(Boolean);
}

function parsePort(text: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new UsageError(`--port: expected an integer from 0 to 65535 (0 picks a free port), got "${text}"`);
  }
  return port;
}

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/** Parse "1048576", "512MiB", "1.5G", ... into a positive whole number of bytes. */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = UNITS[match[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

function parseSizeFlag(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const bytes = parseSize(text);
  if (bytes === undefined) {
    throw new UsageError(`${flag}: expected a positive size such as 1048576, 512MiB or 10GiB, got "${text}"`);
  }
  return bytes;
}

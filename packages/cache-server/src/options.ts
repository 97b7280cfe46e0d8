/** Configuration of one cache server instance, as the library takes it. */
export interface CacheServerOptions {
  /** Directory the entries live in. Created if missing. Use a dedicated directory. */
  dir: string;
  /** TCP port; 0 picks a free one (read it back from `listen()`). Default 3000. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Tokens that may GET entries. */
  readTokens?: readonly string[];
  /** Tokens that may GET and PUT entries. */
  writeTokens?: readonly string[];
  /** Largest accepted entry. Default 512 MiB. */
  maxEntryBytes?: number;
  /** Once the stored total exceeds this, least recently used entries are evicted. Default 10 GiB. */
  maxTotalBytes?: number;
  /** Receives one line per request. Default: write to stdout. `false` silences it. */
  log?: ((line: string) => void) | false;
}

export const DEFAULT_PORT = 3000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_MAX_ENTRY_BYTES = 512 * 1024 ** 2;
export const DEFAULT_MAX_TOTAL_BYTES = 10 * 1024 ** 3;

/** Options with every default filled in and checked. */
export interface ResolvedOptions {
  dir: string;
  port: number;
  host: string;
  readTokens: readonly string[];
  writeTokens: readonly string[];
  maxEntryBytes: number;
  maxTotalBytes: number;
  log: (line: string) => void;
}

export function resolveOptions(options: CacheServerOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    dir: options.dir,
    port: options.port ?? DEFAULT_PORT,
    host: options.host ?? DEFAULT_HOST,
    readTokens: options.readTokens ?? [],
    writeTokens: options.writeTokens ?? [],
    maxEntryBytes: options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES,
    maxTotalBytes: options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
    log:
      options.log === false
        ? () => {}
        : (options.log ?? ((line: string) => void process.stdout.write(line + '\n'))),
  };
  if (!resolved.dir) throw new TypeError('cache server: `dir` is required');
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw new RangeError(`cache server: port must be an integer in 0..65535, got ${resolved.port}`);
  }
  for (const key of ['maxEntryBytes', 'maxTotalBytes'] as const) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`cache server: ${key} must be a positive integer, got ${value}`);
    }
  }
  // A server nobody can authenticate against is always a configuration mistake.
  if (resolved.readTokens.length + resolved.writeTokens.length === 0) {
    throw new TypeError('cache server: configure at least one read or write token');
  }
  for (const token of [...resolved.readTokens, ...resolved.writeTokens]) {
    if (!isUsableToken(token)) {
      throw new TypeError('cache server: tokens must be non-empty printable ASCII without spaces');
    }
  }
  return resolved;
}

/**
 * Warnings about a configuration that works but is probably not what was meant: a token in both
 * lists may upload, though whoever holds it was likely meant to only read. Tokens are not named.
 */
export function configurationWarnings(readTokens: readonly string[], writeTokens: readonly string[]): string[] {
  const writers = new Set(writeTokens);
  const both = new Set(readTokens.filter((token) => writers.has(token))).size;
  if (both === 0) return [];
  return [
    `warning: ${both} token${both === 1 ? ' is' : 's are'} configured both as a read token and as a write token: ` +
      `${both === 1 ? 'it' : 'they'} may upload. Give each token one role: remove ${both === 1 ? 'it' : 'them'} from ` +
      `--read-token / GRADSIGN_CACHE_READ_TOKENS, or from --write-token / GRADSIGN_CACHE_WRITE_TOKENS if ${both === 1 ? 'it' : 'they'} should only download.`,
  ];
}

/** A token must survive being sent as `Authorization: Bearer <token>` unchanged. */
export function isUsableToken(token: string): boolean {
  return /^[\x21-\x7e]+$/.test(token);
}

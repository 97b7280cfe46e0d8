import { describe, expect, it } from 'vitest';
import { parseCliArgs, parseSize, UsageError } from '../src/args.ts';

const serve = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const command = parseCliArgs(argv, env);
  if (command.kind !== 'serve') throw new Error('expected serve');
  return command.options;
};

describe('parseCliArgs', () => {
  it('applies defaults', () => {
    expect(serve(['--dir', 'd', '--write-token', 'w'])).toEqual({
      dir: 'd',
      port: 3000,
      host: '127.0.0.1',
      readTokens: [],
      writeTokens: ['w'],
      maxEntryBytes: 512 * 1024 ** 2,
      maxTotalBytes: 10 * 1024 ** 3,
    });
  });

  it('merges repeated, comma-separated and env tokens', () => {
    const options = serve(['--dir', 'd', '--read-token', 'r1,r2', '--read-token', 'r3', '--write-token', 'w1'], {
      GRADSIGN_CACHE_READ_TOKENS: 'r4, r5',
      GRADSIGN_CACHE_WRITE_TOKENS: 'w2',
    });
    expect(options.readTokens).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(options.writeTokens).toEqual(['w1', 'w2']);
    expect(serve(['--dir', 'd'], { GRADSIGN_CACHE_WRITE_TOKENS: 'env-only' }).writeTokens).toEqual(['env-only']);
  });

  it('parses ports and sizes', () => {
    const options = serve(['--dir', 'd', '--write-token', 'w', '--port', '0', '--max-entry-bytes', '1MiB', '--max-total-bytes', '2GB']);
    expect(options.port).toBe(0);
    expect(options.maxEntryBytes).toBe(1024 ** 2);
    expect(options.maxTotalBytes).toBe(2e9);
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize('1.5k')).toBe(1536);
    expect(parseSize('0')).toBeUndefined();
    expect(parseSize('-1')).toBeUndefined();
    expect(parseSize('12 parsecs')).toBeUndefined();
  });

  it('returns help for --help and -h', () => {
    expect(parseCliArgs(['--help'], {})).toEqual({ kind: 'help' });
    expect(parseCliArgs(['-h'], {})).toEqual({ kind: 'help' });
  });

  it.each([
    [['--write-token', 'w'], /--dir is required/],
    [['--dir', 'd'], /no access tokens configured/],
    [['--dir', 'd', '--write-token', 'w', '--port', '70000'], /--port: expected an integer/],
    [['--dir', 'd', '--write-token', 'w', '--port', 'http'], /--port/],
    [['--dir', 'd', '--write-token', 'w', '--max-entry-bytes', 'lots'], /--max-entry-bytes: expected a positive size/],
    [['--dir', 'd', '--write-token', 'w', '--max-total-bytes', '0'], /--max-total-bytes/],
    [['--dir', 'd', '--write-token', 'w', '--verbose'], /Unknown option '--verbose'/],
    [['--dir'], /--dir/],
    [['--dir', 'd', 'extra'], /extra/],
  ])('rejects %j with a message naming the problem', (argv, message) => {
    expect(() => parseCliArgs(argv, {})).toThrow(UsageError);
    expect(() => parseCliArgs(argv, {})).toThrow(message);
  });
});

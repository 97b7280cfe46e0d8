/**
 * What the server's log says about things that went wrong: an upload the client abandoned is not
 * logged as stored (200), and a token configured as both read and write (so a "read-only" client
 * may write) is warned about at start, without printing the token.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { abandonUpload, cleanup, startCli, startServer, tempDir, waitFor } from './helpers.ts';

afterEach(cleanup);

describe('request log', () => {
  it('logs an upload the client abandoned as aborted (499) with the bytes received, not as 200', async () => {
    const { port, dir, logs } = await startServer();
    await abandonUpload(port, dir, 'abandoned');
    await waitFor(() => logs.some((line) => line.includes('/v1/cache/abandoned')), 5000, 'the log line');
    const line = logs.find((l) => l.includes('/v1/cache/abandoned'))!;
    expect(line).toMatch(/ PUT \/v1\/cache\/abandoned 499 in=\d+ out=0 [\d.]+ms aborted$/);
    const received = Number(/ in=(\d+) /.exec(line)![1]);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(400_000);
  });
});

describe('tokens given as both read and write', () => {
  const warning = /warning: 1 token is configured both as a read token and as a write token: it may upload/;

  it('are warned about when the server starts, without the token', async () => {
    const { logs } = await startServer({ readTokens: ['shared-token', 'reader'], writeTokens: ['shared-token'] });
    expect(logs.join('\n')).toMatch(warning);
    expect(logs.join('\n')).not.toContain('shared-token');
  });

  it('are warned about by the CLI too (flags and environment together)', async () => {
    const server = await startCli(['--dir', tempDir(), '--read-token', 'shared-token'], { GRADSIGN_CACHE_WRITE_TOKENS: 'shared-token' });
    expect(server.output()).toMatch(warning);
    expect(server.output()).toMatch(/--read-token \/ GRADSIGN_CACHE_READ_TOKENS/);
    expect(server.output()).not.toContain('shared-token');
  });

  it('give no warning when the lists are apart', async () => {
    const { logs } = await startServer({ readTokens: ['reader'], writeTokens: ['writer'] });
    expect(logs.join('\n')).not.toMatch(/warning/);
  });
});

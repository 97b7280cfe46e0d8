import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auth,
  cleanup,
  peakRssBytes,
  READ_TOKEN,
  request,
  runCli,
  sha256,
  startCli,
  tempDir,
  waitFor,
  WRITE_TOKEN,
} from './helpers.ts';

afterEach(cleanup);

const tokenEnv = { GRADSIGN_CACHE_WRITE_TOKENS: WRITE_TOKEN, GRADSIGN_CACHE_READ_TOKENS: READ_TOKEN };

describe('CLI', () => {
  it('prints usage for --help', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: gradsign-cache-server --dir <path>');
    expect(stdout).toContain('GRADSIGN_CACHE_WRITE_TOKENS');
  });

  it('exits 2 with a message naming the flag on bad arguments', async () => {
    const noDir = await runCli(['--write-token', 'w']);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('--dir is required');
    const badPort = await runCli(['--dir', tempDir(), '--write-token', 'w', '--port', 'nope']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--port');
  });

  it('takes tokens from the environment and prints the listening line', async () => {
    const dir = tempDir();
    const server = await startCli(['--dir', dir], tokenEnv);
    expect(server.output()).toContain(`gradsign-cache-server listening on ${server.url} (dir ${dir})`);
    const body = Buffer.from('from env');
    expect((await request(server.port, 'PUT', '/v1/cache/env', { headers: auth(WRITE_TOKEN), body })).status).toBe(200);
    expect((await request(server.port, 'GET', '/v1/cache/env', { headers: auth(READ_TOKEN) })).body.equals(body)).toBe(true);
    expect(server.output()).toMatch(/PUT \/v1\/cache\/env 200 in=8 /);
    expect(server.output()).not.toContain(WRITE_TOKEN);
  });

  it('serves 100 concurrent clients intact with bounded server memory', async () => {
    const dir = tempDir();
    const server = await startCli(['--dir', dir], tokenEnv);
    const clients = 100;
    const size = 256 * 1024;
    const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
    try {
      const started = Date.now();
      const results = await Promise.all(
        Array.from({ length: clients }, async (_, i) => {
          const body = randomBytes(size);
          const hash = `load${i}`;
          const put = await request(server.port, 'PUT', `/v1/cache/${hash}`, { headers: auth(WRITE_TOKEN), body, agent });
          const get = await request(server.port, 'GET', `/v1/cache/${hash}`, { headers: auth(READ_TOKEN), agent });
          return { put: put.status, get: get.status, same: sha256(get.body) === sha256(body) };
        }),
      );
      const elapsed = Date.now() - started;
      expect(results.every((r) => r.put === 200 && r.get === 200 && r.same)).toBe(true);
      expect(readdirSync(dir)).toHaveLength(clients);
      expect(readdirSync(dir).every((name) => statSync(join(dir, name)).size === size)).toBe(true);
      const peak = peakRssBytes(server.child.pid!);
      console.log(`100 clients x 256 KiB up+down: ${elapsed} ms, server peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB`);
      expect(peak).toBeLessThan(150 * 2 ** 20);
      expect(elapsed).toBeLessThan(30_000);
    } finally {
      agent.destroy();
    }
  });

  it('leaves no entry behind when killed mid-upload, and cleans the temp file on restart', async () => {
    const dir = tempDir();
    const first = await startCli(['--dir', dir], tokenEnv);
    const total = 32 * 2 ** 20;
    const req = http.request({
      host: '127.0.0.1',
      port: first.port,
      method: 'PUT',
      path: '/v1/cache/killed',
      headers: { ...auth(WRITE_TOKEN), 'Content-Length': String(total) },
      agent: false,
    });
    req.on('error', () => {}); // the server dies under it
    req.write(randomBytes(total / 2));

    const tempBytes = () =>
      readdirSync(dir)
        .filter((name) => name.startsWith('.upload-'))
        .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    await waitFor(() => tempBytes() > 1 * 2 ** 20, 10_000, 'half the upload to reach the temp file');
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    req.destroy();

    // The crash left only a temp file, never an entry named after the hash.
    expect(readdirSync(dir)).not.toContain('killed');
    expect(readdirSync(dir).some((name) => name.startsWith('.upload-'))).toBe(true);

    const second = await startCli(['--dir', dir], tokenEnv);
    expect((await request(second.port, 'GET', '/v1/cache/killed', { headers: auth(READ_TOKEN) })).status).toBe(404);
    expect(readdirSync(dir)).toEqual([]);
    const health = JSON.parse((await request(second.port, 'GET', '/health')).body.toString());
    expect(health).toEqual({ status: 'ok', entries: 0, bytes: 0 });
    // The hash is still usable: a fresh upload is accepted, not 409.
    const body = randomBytes(1000);
    expect((await request(second.port, 'PUT', '/v1/cache/killed', { headers: auth(WRITE_TOKEN), body })).status).toBe(200);
  });
});

/**
 * Sharing the cache across machines: two fresh copies of the repository pointed at one
 * gradsign-cache-server. The second executes no task and ends with byte-identical artifacts; with
 * the server down, `npm run pipeline` falls back to the local cache instead of failing, and plain
 * `nx` says so before it fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheServer } from '@gradsign/cache-server';
import { hashTree, makeWorkspaceCopy, removeWorkspace, runPipeline } from './helpers/workspace.ts';

let a: string;
let b: string;
/** A machine with an empty local cache: Nx asks the server for its first task. */
let c: string;
let cacheDir: string;
let server: ReturnType<typeof createCacheServer>;
let url: string;

beforeAll(async () => {
  [a, b, c] = await Promise.all([makeWorkspaceCopy('gradsign-a-'), makeWorkspaceCopy('gradsign-b-'), makeWorkspaceCopy('gradsign-c-')]);
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'gradsign-remote-'));
  server = createCacheServer({ dir: cacheDir, port: 0, readTokens: ['laptop'], writeTokens: ['ci'], log: false });
  url = (await server.listen()).url;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await Promise.all([removeWorkspace(a), removeWorkspace(b), removeWorkspace(c), rm(cacheDir, { recursive: true, force: true })]);
});

describe('remote cache', () => {
  it('lets a second machine take every task from the cache, with byte-identical artifacts', async () => {
    const first = await runPipeline(a, 'smoke', { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'ci' });
    expect(first.executed).toHaveLength(12);
    // The laptop has a read-only token and an empty local cache.
    const second = await runPipeline(b, 'smoke', { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'laptop' });
    expect(second.executed).toEqual([]);
    expect(second.tasks.every((t) => t.status === 'remote-cache')).toBe(true);
    expect(hashTree(path.join(b, 'artifacts/smoke'))).toEqual(hashTree(path.join(a, 'artifacts/smoke')));
  }, 300_000);

  it('falls back to the local cache with a warning when the server is down (npm run pipeline)', async () => {
    const result = await execa('node', ['scripts/pipeline.mjs', 'smoke'], {
      cwd: b,
      env: { NX_DAEMON: 'false', NX_SELF_HOSTED_REMOTE_CACHE_SERVER: 'http://127.0.0.1:9', NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'ci' },
      all: true,
      reject: false,
    });
    expect(result.exitCode).toBe(0);
    expect(result.all).toMatch(/warning: remote cache http:\/\/127\.0\.0\.1:9 not used: it is unreachable/);
    expect(result.all).toMatch(/0 ran, 12 from cache/);
  }, 120_000);

  it('plain nx with the server down fails as Nx does, but first says how to run anyway', async () => {
    const down = { NX_DAEMON: 'false', NX_SELF_HOSTED_REMOTE_CACHE_SERVER: 'http://127.0.0.1:9', NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'ci' };
    const plain = await execa('npx', ['nx', 'run', 'pipeline:smoke'], { cwd: c, env: down, all: true, reject: false });
    expect(plain.exitCode).not.toBe(0);
    expect(plain.all).toContain('Failed to send request');
    expect(plain.all).toMatch(/gradsign: warning: the remote cache http:\/\/127\.0\.0\.1:9 is unusable: it is unreachable/);
    expect(plain.all).toContain('`npm run pipeline -- smoke`');
    expect(plain.all).toContain('--skipRemoteCache');
    // The way the hint names: every task from the local cache, no warning.
    const skipped = await execa('npx', ['nx', 'run', 'pipeline:smoke', '--skipRemoteCache'], { cwd: b, env: down, all: true, reject: false });
    expect(skipped.exitCode, skipped.all).toBe(0);
    expect(skipped.all).toMatch(/0 ran, 12 from cache/);
    expect(skipped.all).not.toMatch(/unusable/);
  }, 120_000);

  it('npm run pipeline names a server that goes away after its check, and how to go on', async () => {
    // Answers the check (health, token), then stops: Nx's first cache request fails the run.
    const flaky = createServer((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404).end();
      if (req.url !== '/health') flaky.close(), flaky.closeAllConnections();
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const flakyUrl = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
    const result = await execa('node', ['scripts/pipeline.mjs', 'smoke'], {
      cwd: c,
      env: { NX_DAEMON: 'false', NX_SELF_HOSTED_REMOTE_CACHE_SERVER: flakyUrl, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'ci' },
      all: true,
      reject: false,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.all).toContain(`remote cache: ${flakyUrl}`);
    expect(result.all).toMatch(new RegExp(`the remote cache ${flakyUrl} became unusable during the run \\(it is unreachable`));
    expect(result.all).toContain('npm run pipeline -- smoke` again');
  }, 120_000);

  it('falls back when the token is rejected', async () => {
    const result = await execa('node', ['scripts/pipeline.mjs', 'smoke'], {
      cwd: b,
      env: { NX_DAEMON: 'false', NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'wrong' },
      all: true,
      reject: false,
    });
    expect(result.exitCode).toBe(0);
    expect(result.all).toMatch(/rejects the access token \(401\)/);
  }, 120_000);
});

/**
 * Sharing the cache across machines: two fresh copies of the repository pointed at one
 * gradsign-cache-server. The second executes no task and ends with byte-identical artifacts; with
 * the server down, `npm run pipeline` falls back to the local cache instead of failing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheServer } from '@gradsign/cache-server';
import { hashTree, makeWorkspaceCopy, removeWorkspace, runPipeline } from './helpers/workspace.ts';

let a: string;
let b: string;
let cacheDir: string;
let server: ReturnType<typeof createCacheServer>;
let url: string;

beforeAll(async () => {
  [a, b] = await Promise.all([makeWorkspaceCopy('gradsign-a-'), makeWorkspaceCopy('gradsign-b-')]);
  cacheDir = await mkdtemp(path.join(os.tmpdir(), 'gradsign-remote-'));
  server = createCacheServer({ dir: cacheDir, port: 0, readTokens: ['laptop'], writeTokens: ['ci'], log: false });
  url = (await server.listen()).url;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await Promise.all([removeWorkspace(a), removeWorkspace(b), rm(cacheDir, { recursive: true, force: true })]);
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

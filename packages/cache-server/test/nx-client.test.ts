/**
 * Drives the real Nx client (node_modules/nx, whose HTTP cache client is the
 * Rust `HttpRemoteCache`) against the server, in a throwaway one-project
 * workspace. Also pins down how that client reacts to failures, because
 * callers build their fallback on it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, READ_TOKEN, startServer, tempDir, WRITE_TOKEN } from './helpers.ts';

afterEach(cleanup);

const nxRoot = dirname(createRequire(import.meta.url).resolve('nx/package.json'));
const nxBin = join(nxRoot, 'dist/bin/nx.js');

let workspace: string;

beforeEach(() => {
  workspace = tempDir();
  mkdirSync(join(workspace, 'node_modules'));
  symlinkSync(nxRoot, join(workspace, 'node_modules/nx'), 'dir');
  writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: 'ws', version: '0.0.0', private: true }));
  writeFileSync(
    join(workspace, 'nx.json'),
    JSON.stringify({ targetDefaults: { build: { cache: true, outputs: ['{projectRoot}/dist'] } } }),
  );
  mkdirSync(join(workspace, 'packages/a'), { recursive: true });
  const script =
    "const fs=require('fs');fs.mkdirSync('packages/a/dist',{recursive:true});" +
    "fs.writeFileSync('packages/a/dist/out.txt','built '+process.hrtime.bigint());console.log('BUILT A')";
  writeFileSync(
    join(workspace, 'packages/a/project.json'),
    JSON.stringify({
      name: 'a',
      targets: { build: { executor: 'nx:run-commands', options: { command: `node -e "${script}"` } } },
    }),
  );
});

/** Run `nx run a:build` asynchronously (the in-process server must keep serving). */
function nxBuild(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NX_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nxBin, 'run', 'a:build'], {
      cwd: workspace,
      env: { ...baseEnv, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const forgetLocalResults = () => {
  rmSync(join(workspace, '.nx'), { recursive: true, force: true });
  rmSync(join(workspace, 'packages/a/dist'), { recursive: true, force: true });
};
const builtOutput = () => readFileSync(join(workspace, 'packages/a/dist/out.txt'), 'utf8');

describe('real Nx client', () => {
  it('stores on a miss and restores from the remote cache on another machine', async () => {
    const server = await startServer();
    const env = { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: WRITE_TOKEN };

    const first = await nxBuild(env);
    expect(first.code, first.output).toBe(0);
    const original = builtOutput();
    expect(server.logs.some((line) => / GET \/v1\/cache\/\d+ 404 /.test(line))).toBe(true);
    expect(server.logs.some((line) => / PUT \/v1\/cache\/\d+ 200 /.test(line))).toBe(true);

    forgetLocalResults(); // as if on a fresh machine
    const second = await nxBuild({ ...env, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: READ_TOKEN });
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('[remote cache]');
    expect(builtOutput()).toBe(original); // restored, not rebuilt
  }, 120_000);

  it('treats 403 (read-only token) as "not stored" and the run succeeds', async () => {
    const server = await startServer();
    const result = await nxBuild({
      NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url + '/', // trailing slash: Nx sends //v1/cache/...
      NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: READ_TOKEN,
    });
    expect(result.code, result.output).toBe(0);
    expect(server.logs.some((line) => / PUT \/v1\/cache\/\d+ 403 /.test(line))).toBe(true);
  }, 120_000);

  it('fails the whole run on a wrong token, showing our text/plain 401 body', async () => {
    const server = await startServer();
    const result = await nxBuild({ NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'wrong' });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Unauthorized: missing or invalid access token');
    expect(result.output).not.toContain('BUILT A');
  }, 120_000);

  it('documents: with the server unreachable, Nx fails the run instead of building', async () => {
    const server = await startServer();
    await server.close(); // the port is now closed
    const result = await nxBuild({ NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: WRITE_TOKEN });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Failed to send request');
    expect(result.output).not.toContain('BUILT A');
  }, 120_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { createCacheServer, type CacheServerOptions } from '../src/index.ts';

export const BIN = fileURLToPath(new URL('../bin/gradsign-cache-server.js', import.meta.url));
export const WRITE_TOKEN = 'write-secret-123';
export const READ_TOKEN = 'read-secret-456';
export const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

const cleanups: (() => void | Promise<void>)[] = [];

/** Run everything registered by the helpers below; call from afterEach. */
export async function cleanup(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!();
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gradsign-cache-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Started {
  url: string;
  port: number;
  dir: string;
  logs: string[];
  close(): Promise<void>;
}

/** Start an in-process server on 127.0.0.1 with a free port. */
export async function startServer(options: Partial<CacheServerOptions> = {}): Promise<Started> {
  const dir = options.dir ?? tempDir();
  const logs: string[] = [];
  const cache = createCacheServer({
    readTokens: [READ_TOKEN],
    writeTokens: [WRITE_TOKEN],
    log: (line) => logs.push(line),
    ...options,
    dir,
    host: '127.0.0.1',
    port: 0,
  });
  const { url, port } = await cache.listen();
  cleanups.push(() => cache.close());
  return { url, port, dir, logs, close: () => cache.close() };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request to 127.0.0.1 with the path sent verbatim (no URL normalisation). */
export function request(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body) headers['Content-Length'] = String(options.body.length);
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    // A server may answer (e.g. 413) and close before the whole body is sent;
    // the response still arrives, so only a missing response is an error.
    req.on('error', reject);
    req.end(options.body);
  });
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export interface CliServer {
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  /** Resolves with the exit signal/code once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start the real CLI in a child process and wait (bounded) for its listening line. */
export async function startCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliServer> {
  const child = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start in 20s:\n${output}`)), 20_000);
    const check = () => {
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`CLI exited before listening:\n${output}`));
    });
  });
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

/** Run the CLI to completion (for --help and argument errors). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Peak resident memory of a process in bytes, from /proc (Linux). */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error('VmHWM not found in /proc status');
  return Number(match[1]) * 1024;
}

/**
 * Start a 1,000,000-byte upload of `hash`, send 400,000 bytes, wait until the server has started the
 * temp file in `dir`, then drop the connection.
 */
export async function abandonUpload(port: number, dir: string, hash: string): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `PUT /v1/cache/${hash} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${WRITE_TOKEN}\r\n` +
      `Content-Length: 1000000\r\n\r\n`,
  );
  socket.write(randomBytes(400_000));
  await waitFor(() => readdirSync(dir).length > 0, 5000, 'the temp file');
  expect(readdirSync(dir).every((name) => name.startsWith('.upload-'))).toBe(true);
  socket.destroy();
}

/** Poll `predicate` every 25 ms until it holds, at most `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

import { randomBytes } from 'node:crypto';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auth, cleanup, READ_TOKEN, request, startServer, WRITE_TOKEN } from './helpers.ts';

afterEach(cleanup);

const LIMIT = 10_000;
const ENTRY = 3_000;

function diskTotal(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

async function put(port: number, hash: string): Promise<void> {
  const reply = await request(port, 'PUT', `/v1/cache/${hash}`, { headers: auth(WRITE_TOKEN), body: randomBytes(ENTRY) });
  expect(reply.status).toBe(200);
}

async function status(port: number, hash: string): Promise<number> {
  return (await request(port, 'GET', `/v1/cache/${hash}`, { headers: auth(READ_TOKEN) })).status;
}

describe('eviction', () => {
  it('drops the oldest entries once the total passes max-total-bytes', async () => {
    const { port, dir } = await startServer({ maxTotalBytes: LIMIT });
    for (const hash of ['e1', 'e2', 'e3', 'e4', 'e5']) await put(port, hash);

    expect(readdirSync(dir).sort()).toEqual(['e3', 'e4', 'e5']);
    expect(diskTotal(dir)).toBeLessThanOrEqual(LIMIT);
    expect(await status(port, 'e1')).toBe(404);
    expect(await status(port, 'e2')).toBe(404);
    expect(await status(port, 'e5')).toBe(200);
    const health = JSON.parse((await request(port, 'GET', '/health')).body.toString());
    expect(health).toEqual({ status: 'ok', entries: 3, bytes: 3 * ENTRY });
  });

  it('counts a download as use, so recently read entries survive', async () => {
    const { port, dir } = await startServer({ maxTotalBytes: LIMIT });
    for (const hash of ['a', 'b', 'c']) await put(port, hash);
    expect(await status(port, 'a')).toBe(200); // 'a' is now the most recently used
    await put(port, 'd');
    expect(readdirSync(dir).sort()).toEqual(['a', 'c', 'd']);
  });

  it('enforces a lowered limit at startup, oldest mtime first, and clears stale temp files', async () => {
    const first = await startServer({ maxTotalBytes: LIMIT });
    for (const hash of ['old', 'mid', 'new']) await put(first.port, hash);
    await first.close();
    const now = Date.now() / 1000;
    utimesSync(join(first.dir, 'old'), now - 300, now - 300);
    utimesSync(join(first.dir, 'mid'), now - 200, now - 200);
    utimesSync(join(first.dir, 'new'), now - 100, now - 100);

    const second = await startServer({ dir: first.dir, maxTotalBytes: 2 * ENTRY });
    expect(readdirSync(first.dir).sort()).toEqual(['mid', 'new']);
    expect(await status(second.port, 'old')).toBe(404);
  });
});

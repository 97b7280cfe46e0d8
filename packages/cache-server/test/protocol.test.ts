import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { abandonUpload, auth, cleanup, READ_TOKEN, request, startServer, waitFor, WRITE_TOKEN } from './helpers.ts';

afterEach(cleanup);

describe('cache protocol', () => {
  it('round-trips a binary entry byte for byte', async () => {
    const { port } = await startServer();
    const body = randomBytes(300_000);
    const put = await request(port, 'PUT', '/v1/cache/12345678901234567890', { headers: auth(WRITE_TOKEN), body });
    expect(put.status).toBe(200);

    const get = await request(port, 'GET', '/v1/cache/12345678901234567890', { headers: auth(WRITE_TOKEN) });
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toBe('application/octet-stream');
    expect(get.headers['content-length']).toBe(String(body.length));
    expect(get.body.equals(body)).toBe(true);
  });

  it('answers 404 for a missing entry', async () => {
    const { port } = await startServer();
    const get = await request(port, 'GET', '/v1/cache/missing', { headers: auth(READ_TOKEN) });
    expect(get.status).toBe(404);
  });

  it('never overwrites: a second PUT is 409 and the content is unchanged', async () => {
    const { port, dir } = await startServer();
    const first = randomBytes(10_000);
    expect((await request(port, 'PUT', '/v1/cache/abc', { headers: auth(WRITE_TOKEN), body: first })).status).toBe(200);
    const second = await request(port, 'PUT', '/v1/cache/abc', { headers: auth(WRITE_TOKEN), body: randomBytes(10_000) });
    expect(second.status).toBe(409);
    expect((await request(port, 'GET', '/v1/cache/abc', { headers: auth(READ_TOKEN) })).body.equals(first)).toBe(true);
    expect(readdirSync(dir)).toEqual(['abc']);
  });

  it('settles two simultaneous PUTs of one hash with exactly one intact entry', async () => {
    const { port, dir } = await startServer();
    const bodies = [randomBytes(2_000_000), randomBytes(2_000_000)];
    const replies = await Promise.all(
      bodies.map((body) => request(port, 'PUT', '/v1/cache/race', { headers: auth(WRITE_TOKEN), body })),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 409]);
    const winner = bodies[replies.findIndex((reply) => reply.status === 200)];
    expect(readFileSync(join(dir, 'race')).equals(winner)).toBe(true);
    expect(readdirSync(dir)).toEqual(['race']);
  });

  it('supports HEAD for existence checks', async () => {
    const { port } = await startServer();
    await request(port, 'PUT', '/v1/cache/h1', { headers: auth(WRITE_TOKEN), body: Buffer.from('hello') });
    const head = await request(port, 'HEAD', '/v1/cache/h1', { headers: auth(READ_TOKEN) });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('5');
    expect(head.body.length).toBe(0);
  });

  it('accepts the double slash Nx sends when the server URL ends in "/"', async () => {
    const { port } = await startServer();
    const put = await request(port, 'PUT', '//v1/cache/slash', { headers: auth(WRITE_TOKEN), body: Buffer.from('x') });
    expect(put.status).toBe(200);
    expect((await request(port, 'GET', '/v1/cache/slash', { headers: auth(READ_TOKEN) })).body.toString()).toBe('x');
  });
});

describe('authentication', () => {
  it('rejects a missing or wrong token with 401 and exactly text/plain (what Nx requires)', async () => {
    const { port } = await startServer();
    for (const headers of [{}, auth('wrong'), { Authorization: 'Basic abc' }, { Authorization: `Bearer ${WRITE_TOKEN}x` }]) {
      for (const method of ['GET', 'PUT']) {
        const body = method === 'PUT' ? Buffer.from('data') : undefined;
        const reply = await request(port, method, '/v1/cache/abc', { headers, body });
        expect(reply.status).toBe(401);
        // Nx compares the header to "text/plain" exactly; a charset makes it report "Misconfigured".
        expect(reply.headers['content-type']).toBe('text/plain');
      }
    }
  });

  it('lets a read token GET but answers its PUT with 403 and stores nothing', async () => {
    const { port, dir } = await startServer();
    const put = await request(port, 'PUT', '/v1/cache/ro', { headers: auth(READ_TOKEN), body: randomBytes(1000) });
    expect(put.status).toBe(403);
    expect(readdirSync(dir)).toEqual([]);

    await request(port, 'PUT', '/v1/cache/ro', { headers: auth(WRITE_TOKEN), body: Buffer.from('shared') });
    const get = await request(port, 'GET', '/v1/cache/ro', { headers: auth(READ_TOKEN) });
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe('shared');
  });

  it('accepts any of several tokens, case-insensitive "bearer"', async () => {
    const { port } = await startServer({ writeTokens: ['w1', 'w2'], readTokens: [] });
    expect((await request(port, 'PUT', '/v1/cache/a', { headers: auth('w2'), body: Buffer.from('a') })).status).toBe(200);
    expect((await request(port, 'GET', '/v1/cache/a', { headers: { Authorization: 'bearer w1' } })).status).toBe(200);
  });

  it('never writes tokens to the log', async () => {
    const { port, logs } = await startServer();
    await request(port, 'PUT', '/v1/cache/logged?token=x', { headers: auth(WRITE_TOKEN), body: Buffer.from('x') });
    await request(port, 'GET', '/v1/cache/logged', { headers: auth(READ_TOKEN) });
    await request(port, 'GET', '/v1/cache/logged', { headers: auth('guess') });
    await waitFor(() => logs.length === 3, 2000, 'log lines');
    expect(logs[0]).toMatch(/ PUT \/v1\/cache\/logged 200 in=1 out=\d+ [\d.]+ms$/);
    expect(logs[1]).toMatch(/ GET \/v1\/cache\/logged 200 in=0 out=1 [\d.]+ms$/);
    expect(logs[2]).toMatch(/ GET \/v1\/cache\/logged 401 /);
    for (const line of logs) {
      expect(line).not.toContain(WRITE_TOKEN);
      expect(line).not.toContain(READ_TOKEN);
      expect(line).not.toContain('guess');
    }
  });
});

describe('validation and limits', () => {
  it('rejects hashes that could escape the directory or are too long with 400', async () => {
    const { port, dir } = await startServer();
    const bad = ['..%2F..', '..%2F..%2Fetc%2Fpasswd', '%2E%2E', 'a.b', 'a%00', 'a/b', 'x'.repeat(129), ''];
    for (const hash of bad) {
      for (const method of ['GET', 'PUT']) {
        const body = method === 'PUT' ? Buffer.from('evil') : undefined;
        const reply = await request(port, method, `/v1/cache/${hash}`, { headers: auth(WRITE_TOKEN), body });
        expect(reply.status, `${method} ${hash}`).toBe(400);
      }
    }
    expect(readdirSync(dir)).toEqual([]);
    // The longest valid hash is fine.
    const ok = await request(port, 'PUT', `/v1/cache/${'x'.repeat(128)}`, { headers: auth(WRITE_TOKEN), body: Buffer.from('ok') });
    expect(ok.status).toBe(200);
  });

  it('answers 413 for an entry over max-entry-bytes and leaves nothing on disk', async () => {
    const { port, dir } = await startServer({ maxEntryBytes: 1000 });
    const reply = await request(port, 'PUT', '/v1/cache/big', { headers: auth(WRITE_TOKEN), body: randomBytes(1001) });
    expect(reply.status).toBe(413);
    expect(readdirSync(dir)).toEqual([]);
    expect((await request(port, 'GET', '/v1/cache/big', { headers: auth(READ_TOKEN) })).status).toBe(404);
    // Exactly at the limit is accepted.
    expect((await request(port, 'PUT', '/v1/cache/fits', { headers: auth(WRITE_TOKEN), body: randomBytes(1000) })).status).toBe(200);
  });

  it('refuses an empty body, which could never be a valid Nx artifact', async () => {
    const { port, dir } = await startServer();
    const reply = await request(port, 'PUT', '/v1/cache/empty', { headers: auth(WRITE_TOKEN), body: Buffer.alloc(0) });
    expect(reply.status).toBe(400);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('requires a Content-Length (411 for chunked uploads)', async () => {
    const { port, dir } = await startServer();
    const reply = await request(port, 'PUT', '/v1/cache/chunked', {
      headers: { ...auth(WRITE_TOKEN), 'Transfer-Encoding': 'chunked' },
    });
    expect(reply.status).toBe(411);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves no entry and no temp file when the client aborts mid-upload', async () => {
    const { port, dir } = await startServer();
    await abandonUpload(port, dir, 'aborted');
    await waitFor(() => readdirSync(dir).length === 0, 5000, 'the temp file to be removed');
    expect((await request(port, 'GET', '/v1/cache/aborted', { headers: auth(READ_TOKEN) })).status).toBe(404);
  });
});

describe('routes', () => {
  it('serves /health without auth', async () => {
    const { port } = await startServer();
    await request(port, 'PUT', '/v1/cache/one', { headers: auth(WRITE_TOKEN), body: Buffer.alloc(123) });
    const health = await request(port, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body.toString())).toEqual({ status: 'ok', entries: 1, bytes: 123 });
  });

  it('answers unknown routes with 404 and wrong methods with 405', async () => {
    const { port } = await startServer();
    expect((await request(port, 'GET', '/')).status).toBe(404);
    expect((await request(port, 'GET', '/v2/cache/abc', { headers: auth(READ_TOKEN) })).status).toBe(404);
    const del = await request(port, 'DELETE', '/v1/cache/abc', { headers: auth(WRITE_TOKEN) });
    expect(del.status).toBe(405);
    expect(del.headers.allow).toBe('GET, HEAD, PUT');
    expect((await request(port, 'POST', '/v1/cache/abc', { headers: auth(WRITE_TOKEN), body: Buffer.from('x') })).status).toBe(405);
    expect((await request(port, 'PUT', '/health', { body: Buffer.from('x') })).status).toBe(405);
  });
});

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Access } from './auth.ts';
import { isValidHash } from './hash.ts';
import { parseContentLength, sendJson, sendText, type RequestMetrics } from './respond.ts';
import { EntryTooLargeError, IncompleteUploadError, type DiskStore } from './store.ts';

export interface HandlerDeps {
  store: DiskStore;
  authorize: (authorization: string | undefined) => Access;
  maxEntryBytes: number;
  log: (line: string) => void;
}

const CACHE_PREFIX = '/v1/cache/';
/** Logged when the client went away before any answer (nginx's "client closed request"). */
export const CLIENT_CLOSED_REQUEST = 499;

export function createRequestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    const metrics: RequestMetrics = { bytesIn: 0, bytesOut: 0 };
    const path = requestPath(req.url);
    // 'finish' means the whole response was handed to the OS; a 'close'
    // without it means the connection went away first.
    let finished = false;
    res.once('finish', () => (finished = true));
    res.once('close', () => {
      const ms = (performance.now() - started).toFixed(1);
      const aborted = finished ? '' : ' aborted';
      // Until headers are sent, statusCode is Node's default 200: nothing was answered, let alone stored.
      const status = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
      deps.log(
        `${new Date().toISOString()} ${req.method} ${printable(path)} ${status} ` +
          `in=${metrics.bytesIn} out=${metrics.bytesOut} ${ms}ms${aborted}`,
      );
    });
    route(deps, req, res, metrics, path).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
      } else {
        deps.log(`${new Date().toISOString()} error handling ${req.method} ${printable(path)}: ${String(error)}`);
        sendText(req, res, metrics, 500, 'internal error', {});
      }
    });
  };
}

async function route(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  metrics: RequestMetrics,
  path: string,
): Promise<void> {
  if (path === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendText(req, res, metrics, 405, 'method not allowed', { headers: { Allow: 'GET, HEAD' } });
    }
    return sendJson(res, metrics, 200, { status: 'ok', ...deps.store.stats() }, req.method === 'HEAD');
  }
  if (!path.startsWith(CACHE_PREFIX)) return sendText(req, res, metrics, 404, 'not found');

  const method = req.method ?? '';
  if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') {
    return sendText(req, res, metrics, 405, 'method not allowed', { headers: { Allow: 'GET, HEAD, PUT' } });
  }
  const access = deps.authorize(req.headers.authorization);
  if (access === 'none') {
    return sendText(req, res, metrics, 401, 'missing or invalid access token', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  // The hash is checked in its raw, still percent-encoded form: every valid
  // hash character is URL-safe, so any escape is already a rejection.
  const hash = path.slice(CACHE_PREFIX.length);
  if (!isValidHash(hash)) {
    return sendText(req, res, metrics, 400, 'invalid hash: expected 1-128 characters of [A-Za-z0-9_-]');
  }
  if (method === 'PUT') return handlePut(deps, req, res, metrics, hash, access);
  return handleGet(deps, req, res, metrics, hash);
}

async function handleGet(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  metrics: RequestMetrics,
  hash: string,
): Promise<void> {
  const entry = await deps.store.open(hash);
  if (!entry) return sendText(req, res, metrics, 404, 'not found');
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(entry.size) });
  if (req.method === 'HEAD') {
    entry.stream.destroy();
    res.end();
    return;
  }
  entry.stream.on('data', (chunk: Buffer | string) => (metrics.bytesOut += chunk.length));
  // A client that disconnects mid-download rejects the pipeline; the close
  // handler already logs it as aborted, and a read error leaves the response
  // short of its Content-Length, which the client detects.
  await pipeline(entry.stream, res).catch(() => {});
}

async function handlePut(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  metrics: RequestMetrics,
  hash: string,
  access: Access,
): Promise<void> {
  const { maxEntryBytes } = deps;
  if (access !== 'write') {
    return sendText(req, res, metrics, 403, 'this token may only read', { drainUpTo: maxEntryBytes });
  }
  const length = parseContentLength(req.headers['content-length']);
  if (length === undefined || req.headers['transfer-encoding'] !== undefined) {
    return sendText(req, res, metrics, 411, 'a Content-Length header is required');
  }
  if (Number.isNaN(length)) return sendText(req, res, metrics, 400, 'malformed Content-Length');
  // Nx always uploads a gzipped tar; an empty entry could only make every
  // later cache hit on this hash fail to extract.
  if (length === 0) return sendText(req, res, metrics, 400, 'empty body: nothing to store');
  if (length > maxEntryBytes) {
    return sendText(req, res, metrics, 413, `entry too large: the limit is ${maxEntryBytes} bytes`);
  }
  // Cheap early answer for the common case; the race between two uploads of
  // the same hash is settled by the store's no-replace publish.
  if (await deps.store.exists(hash)) {
    return sendText(req, res, metrics, 409, 'entry already exists', { drainUpTo: maxEntryBytes });
  }

  let outcome;
  try {
    outcome = await deps.store.write(hash, counted(req, metrics), length, maxEntryBytes);
  } catch (error) {
    if (error instanceof EntryTooLargeError) {
      return sendText(req, res, metrics, 413, `entry too large: the limit is ${maxEntryBytes} bytes`);
    }
    if (error instanceof IncompleteUploadError || isAbort(error)) {
      // The client is usually gone; if not, tell it why nothing was stored.
      return sendText(req, res, metrics, 400, 'upload incomplete: nothing was stored');
    }
    throw error;
  }
  if (outcome === 'exists') return sendText(req, res, metrics, 409, 'entry already exists');
  return sendText(req, res, metrics, 200, 'stored');
}

async function* counted(source: AsyncIterable<Buffer>, metrics: RequestMetrics): AsyncIterable<Buffer> {
  for await (const chunk of source) {
    metrics.bytesIn += chunk.length;
    yield chunk;
  }
}

/**
 * The path without its query. Leading slashes are collapsed because Nx builds
 * `${NX_SELF_HOSTED_REMOTE_CACHE_SERVER}/v1/cache/${hash}`, so a server URL
 * configured with a trailing slash arrives as `//v1/cache/...`.
 */
function requestPath(url: string | undefined): string {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return (query === -1 ? raw : raw.slice(0, query)).replace(/^\/+/, '/');
}

/** Keep log lines single-line and bounded whatever the client sent. */
function printable(path: string): string {
  const clean = path.replace(/[^\x21-\x7e]/g, '?');
  return clean.length > 200 ? clean.slice(0, 200) + '...' : clean;
}

function isAbort(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

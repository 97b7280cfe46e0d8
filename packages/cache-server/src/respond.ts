import type { IncomingMessage, ServerResponse } from 'node:http';

/** Byte counters for the per-request log line. */
export interface RequestMetrics {
  bytesIn: number;
  bytesOut: number;
}

export interface TextResponseOptions {
  /**
   * If the client is still sending a body of at most this many bytes, read and
   * discard it before answering, so the connection stays usable and clients
   * that write the whole body before reading (reqwest, which Nx uses) see the
   * status instead of a broken pipe. Larger or unknown bodies get the answer
   * at once, with `Connection: close`.
   */
  drainUpTo?: number;
  headers?: Record<string, string>;
}

/**
 * Send a short text/plain answer. The content type is exactly `text/plain`
 * (no charset): Nx only reports a 401 body as "Unauthorized" when the header
 * equals `text/plain`; otherwise it calls the server misconfigured.
 */
export function sendText(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: RequestMetrics,
  status: number,
  text: string,
  options: TextResponseOptions = {},
): void {
  const body = Buffer.from(text + '\n', 'utf8');
  const send = () => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      ...options.headers,
      'Content-Type': 'text/plain',
      'Content-Length': String(body.length),
    });
    if (req.method === 'HEAD') {
      res.end();
    } else {
      metrics.bytesOut += body.length;
      res.end(body);
    }
  };

  const pending = unreadBodyBytes(req);
  if (pending === 0) return send();
  if (pending <= (options.drainUpTo ?? 0)) {
    req.on('data', (chunk: Buffer) => (metrics.bytesIn += chunk.length));
    req.once('end', send);
    req.once('error', () => res.destroy());
    req.resume();
    return;
  }
  res.setHeader('Connection', 'close');
  send();
}

export function sendJson(res: ServerResponse, metrics: RequestMetrics, status: number, value: unknown, headOnly: boolean): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
  if (headOnly) {
    res.end();
  } else {
    metrics.bytesOut += body.length;
    res.end(body);
  }
}

/** Bytes of request body not yet read: 0 when there is none, Infinity when the length is unknown. */
function unreadBodyBytes(req: IncomingMessage): number {
  if (req.complete || req.readableEnded) return 0;
  if (req.headers['transfer-encoding'] !== undefined) return Infinity;
  const declared = parseContentLength(req.headers['content-length']);
  return declared ?? 0;
}

/** The Content-Length as a safe integer, undefined when absent, NaN when malformed. */
export function parseContentLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (!/^\d+$/.test(header.trim())) return NaN;
  const value = Number(header.trim());
  return Number.isSafeInteger(value) ? value : NaN;
}

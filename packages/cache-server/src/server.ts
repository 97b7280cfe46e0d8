import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createAuthorizer } from './auth.ts';
import { createRequestHandler } from './handler.ts';
import { configurationWarnings, resolveOptions, type CacheServerOptions } from './options.ts';
import { DiskStore } from './store.ts';

export interface CacheServer {
  readonly server: Server;
  readonly store: DiskStore;
  /** Prepare the directory (clean temp files, index entries), then start listening. */
  listen(): Promise<{ url: string; port: number }>;
  /** Stop accepting, cut open connections and wait for the server to close. */
  close(): Promise<void>;
}

/** Uploads of hundreds of MiB over slow links need more than Node's 5 minute default. */
const REQUEST_TIMEOUT_MS = 30 * 60_000;
/** A connection that sends or receives nothing for this long is dropped (e.g. a stalled upload). */
const IDLE_SOCKET_TIMEOUT_MS = 2 * 60_000;

export function createCacheServer(options: CacheServerOptions): CacheServer {
  const config = resolveOptions(options);
  const store = new DiskStore(resolve(config.dir), config.maxTotalBytes);
  const handler = createRequestHandler({
    store,
    authorize: createAuthorizer(config.readTokens, config.writeTokens),
    // An entry can never be larger than the whole cache may be.
    maxEntryBytes: Math.min(config.maxEntryBytes, config.maxTotalBytes),
    log: config.log,
  });
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: 60_000 }, handler);
  server.setTimeout(IDLE_SOCKET_TIMEOUT_MS);

  return {
    server,
    store,
    async listen() {
      for (const warning of configurationWarnings(config.readTokens, config.writeTokens)) config.log(`${new Date().toISOString()} ${warning}`);
      await store.init();
      await new Promise<void>((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolveListen();
        });
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return { url: `http://${host}:${port}`, port };
    },
    close() {
      return new Promise<void>((resolveClose, reject) => {
        if (!server.listening) return resolveClose();
        server.close((error) => (error ? reject(error) : resolveClose()));
        server.closeAllConnections();
      });
    },
  };
}

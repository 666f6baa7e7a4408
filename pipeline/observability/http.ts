/**
 * The operations endpoint: Prometheus scrapes `/metrics`, an orchestrator probes `/healthz` (restart
 * me when it fails) and `/readyz` (send me work once it succeeds). Plain `node:http`: three routes do
 * not justify a framework.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * Options of {@link startHttpServer}.
 *
 * @example
 * ```ts
 * const options: HttpServerOptions = {
 *   port: 9464,
 *   host: '127.0.0.1',
 *   metrics: createMetrics(),
 *   ready: () => true,
 *   healthy: () => true,
 * };
 * ```
 */
export interface HttpServerOptions {
  /** The port to listen on; 0 lets the system pick a free one (read it back from `port`). */
  port: number;
  /** Default `127.0.0.1`: metrics are not for the open internet unless asked for. */
  host?: string;
  /** Anything holding the registry to expose, typically what `createMetrics()` returned. */
  metrics: { readonly registry: Registry };
  /**
   * True once start-up (state loaded, source connected) is complete, and while no dependency has been
   * failing for too long.
   */
  ready: () => boolean;
  /** Why not ready, for the body of a 503 (`sink slack failing for 75 s: …`); default `not ready`. */
  unreadyReason?: () => string;
  /** False when the process should be restarted (a shard loop died, the store is unreachable). */
  healthy: () => boolean;
}

/**
 * A running operations server.
 *
 * @example
 * ```ts
 * const server = await startHttpServer({ port: 0, metrics, ready: () => true, healthy: () => true });
 * console.log(`metrics on ${server.url}/metrics`);
 * await server.close();
 * ```
 */
export interface RunningHttpServer {
  /** The port actually bound (differs from the requested one when that was 0). */
  readonly port: number;
  readonly host: string;
  /** `http://host:port`. */
  readonly url: string;
  /** Stops listening and drops open keep-alive connections, so shutdown is not held up by a scraper. */
  close(): Promise<void>;
}

/**
 * Starts the `/metrics`, `/healthz` and `/readyz` server; resolves once it listens. Any other path is
 * 404, a method other than GET or HEAD on a known path is 405. The probes answer `ok` or a one-word
 * reason in plain text.
 *
 * @example
 * ```ts
 * let ready = false;
 * const server = await startHttpServer({
 *   port: config.metrics.port,
 *   host: config.metrics.host,
 *   metrics,
 *   ready: () => ready,
 *   healthy: () => true,
 * });
 * ready = true;
 * ```
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    handle(req, res, options).catch((err: unknown) => {
      // Collecting metrics failed (a broken collect callback): say so rather than hang the scraper.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    port,
    host,
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const known = path === '/metrics' || path === '/healthz' || path === '/readyz';
  if (!known) return text(res, 404, 'not found');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return text(res, 405, 'method not allowed');
  }
  if (path === '/metrics') {
    const body = await options.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (path === '/healthz') {
    const healthy = safe(options.healthy);
    return text(res, healthy ? 200 : 503, healthy ? 'ok' : 'unhealthy');
  }
  const ready = safe(options.ready);
  if (ready) return text(res, 200, 'ok');
  let reason = '';
  try {
    reason = options.unreadyReason?.() ?? '';
  } catch {
    // The reason is a courtesy: a failing one must not turn the probe into a 500.
  }
  return text(res, 503, reason === '' ? 'not ready' : `not ready: ${reason}`);
}

/** A probe that throws counts as failing: the probe is there to tell, not to crash the server. */
function safe(probe: () => boolean): boolean {
  try {
    return probe() === true;
  } catch {
    return false;
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${body}\n`);
}

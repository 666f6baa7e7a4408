import { afterEach, describe, expect, it } from 'vitest';
import { type RunningHttpServer, startHttpServer } from './http.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';

describe('createMetrics', () => {
  it('exposes every metric with its labels after increments', async () => {
    const metrics = createMetrics();
    metrics.eventsTotal.inc({ kind: 'receipt' }, 3);
    metrics.recordsTotal.inc({ shard: 'file-0' }, 10);
    metrics.deadLettersTotal.inc({ code: 'invalid_json' });
    metrics.anomaliesTotal.inc({ type: 'shrinkage', severity: 'critical' });
    metrics.alertNotificationsTotal.inc({ receiver: 'console', outcome: 'sent' });
    metrics.batchDuration.observe(0.004);
    metrics.setCheckpointLag('file-0', 1_000, 31_000);
    metrics.millisBehindLatest.set({ shard: 'file-0' }, 250);
    metrics.trackedSeries.set(600);

    const text = await metrics.registry.metrics();
    expect(text).toContain('shelfwatch_events_total{kind="receipt"} 3');
    expect(text).toContain('shelfwatch_records_total{shard="file-0"} 10');
    expect(text).toContain('shelfwatch_dead_letters_total{code="invalid_json"} 1');
    expect(text).toContain('shelfwatch_anomalies_total{type="shrinkage",severity="critical"} 1');
    expect(text).toContain('shelfwatch_alert_notifications_total{receiver="console",outcome="sent"} 1');
    expect(text).toContain('shelfwatch_batch_duration_seconds_bucket{le="0.001"} 0');
    expect(text).toContain('shelfwatch_batch_duration_seconds_bucket{le="0.005"} 1');
    expect(text).toContain('shelfwatch_batch_duration_seconds_bucket{le="10"} 1');
    expect(text).toContain('shelfwatch_batch_duration_seconds_count 1');
    expect(text).toContain('shelfwatch_checkpoint_lag_seconds{shard="file-0"} 30');
    expect(text).toContain('shelfwatch_millis_behind_latest{shard="file-0"} 250');
    expect(text).toContain('shelfwatch_tracked_series 600');
    // Default process metrics come along.
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('keeps separate pipelines apart and clamps a future checkpoint to zero lag', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.recordsTotal.inc({ shard: 's' }, 5);
    b.setCheckpointLag('s', 2_000, 1_000);
    expect(await b.registry.metrics()).not.toContain('shelfwatch_records_total{shard="s"}');
    expect(await b.registry.metrics()).toContain('shelfwatch_checkpoint_lag_seconds{shard="s"} 0');
  });
});

describe('startHttpServer', () => {
  let server: RunningHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves metrics, health and readiness on a free port, and 404 elsewhere', async () => {
    const metrics = createMetrics();
    metrics.recordsTotal.inc({ shard: 'generator-0' }, 7);
    let ready = false;
    let healthy = true;
    server = await startHttpServer({ port: 0, metrics, ready: () => ready, healthy: () => healthy });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);

    const scrape = await fetch(`${server.url}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    expect(await scrape.text()).toContain('shelfwatch_records_total{shard="generator-0"} 7');

    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    ready = true;
    const readyz = await fetch(`${server.url}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.text()).toBe('ok\n');

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    healthy = false;
    expect((await fetch(`${server.url}/healthz`)).status).toBe(503);

    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('treats a probe that throws as failing', async () => {
    server = await startHttpServer({
      port: 0,
      metrics: createMetrics(),
      ready: () => {
        throw new Error('boom');
      },
      healthy: () => true,
    });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  });

  it('rejects when the port is taken, and closes promptly with a keep-alive connection open', async () => {
    server = await startHttpServer({
      port: 0,
      metrics: createMetrics(),
      ready: () => true,
      healthy: () => true,
    });
    await expect(
      startHttpServer({
        port: server.port,
        metrics: createMetrics(),
        ready: () => true,
        healthy: () => true,
      }),
    ).rejects.toThrow(/EADDRINUSE/);
    await fetch(`${server.url}/healthz`, { keepalive: true });
    const started = Date.now();
    await server.close();
    server = undefined;
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('createLogger', () => {
  function capture() {
    const lines: string[] = [];
    return { lines, destination: { write: (line: string) => void lines.push(line) } };
  }

  it('writes JSON lines with the service name and redacts secrets', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', destination });
    logger.info(
      {
        password: 'p4ss',
        store: { password: 'p4ss', host: 'db' },
        sink: {
          name: 'ops',
          url: 'https://hooks.slack.com/services/T/B/s3cr3t',
          headers: { Authorization: 'Bearer x' },
        },
        request: { headers: { authorization: 'Bearer t0k3n' } },
        config: { alerts: { token: 't0k3n' } },
      },
      'starting',
    );
    logger.debug('not at info');
    expect(lines).toHaveLength(1);
    const line = lines[0];
    for (const secret of ['p4ss', 's3cr3t', 'Bearer', 't0k3n']) expect(line).not.toContain(secret);
    const entry = JSON.parse(line);
    expect(entry).toMatchObject({
      level: 'info',
      service: 'shelfwatch',
      msg: 'starting',
      password: '[redacted]',
      store: { password: '[redacted]', host: 'db' },
      sink: { name: 'ops', url: '[redacted]', headers: '[redacted]' },
      config: { alerts: { token: '[redacted]' } },
    });
    expect(typeof entry.time).toBe('string');
    expect(entry.pid).toBe(process.pid);
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'debug', destination });
    logger.debug('shown');
    logger.trace('hidden');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });
});

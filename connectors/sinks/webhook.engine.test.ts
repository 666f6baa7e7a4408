/**
 * The engine with the real webhook sink (wrapped in `withRetry`, as the run configuration builds it)
 * against a loopback endpoint (issue 11): a webhook answering 410 has its notifications parked and the
 * checkpoint moves; an unreachable one holds the checkpoint, and what the engine reports names the real
 * cause (`ECONNREFUSED`), so that the log and `/readyz` say which part failed and why.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InventoryEngine } from '../../pipeline/engine.js';
import { describeCause } from '../../pipeline/errors.js';
import type { InventoryEvent } from '../../pipeline/events.js';
import type { StreamRecord } from '../../pipeline/lifecycle.js';
import { DependencyHealth } from '../../pipeline/observability/health.js';
import type { AlertSink } from '../../pipeline/ports.js';
import { RetryGiveUpError } from '../../pipeline/retry.js';
import { MemoryStateStore } from '../../pipeline/testing/memory-store.js';
import { passThroughRouter } from '../../pipeline/testing/pass-through-router.js';
import { withRetry } from './retry.js';
import { WebhookSink } from './webhook.js';

const HOUR = 3_600_000;
const SECRET = 'hookSecret0123456789';

let server: Server | undefined;

/** A loopback endpoint answering every POST with `status`; counts the requests. */
async function endpoint(status: number, body = ''): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(status);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/${SECRET}`, requests: () => requests };
}

/** A URL on a loopback port nothing listens on (a server's port, once that server closed). */
async function unreachable(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return `http://127.0.0.1:${port}/hooks/${SECRET}`;
}

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** Two series driven below zero: one negative-stock notification each; records 1–4. */
function alarming(): StreamRecord[] {
  let seq = 0;
  return ['SKU-1', 'SKU-2'].flatMap((sku) =>
    [
      { eventId: `count-${sku}`, kind: 'cycle_count' as const, quantity: 1 },
      { eventId: `dmg-${sku}`, kind: 'damage' as const, quantity: 5 },
    ].map((e) => {
      seq++;
      const event: InventoryEvent = {
        ...e,
        sourceId: e.eventId,
        source: 'wms',
        sku,
        warehouse: 'WH-1',
        occurredAt: HOUR * seq,
      };
      return {
        partitionKey: 'p',
        data: Buffer.from(JSON.stringify(event)),
        sequenceNumber: String(seq),
        subSequenceNumber: 0,
        approximateArrivalTimestamp: HOUR * seq,
      };
    }),
  );
}

type EngineOptions = ConstructorParameters<typeof InventoryEngine>[0];

/** The engine on `sink` as receiver `ops`; the retries it reports are recorded, then `onRetry` runs. */
function engine(
  store: MemoryStateStore,
  sink: AlertSink,
  extra: { signal?: AbortSignal; onRetry?: EngineOptions['onRetry'] } = {},
) {
  const retries: Array<{ what: string; attempt: number; error: unknown }> = [];
  const e = new InventoryEngine({
    store,
    sinks: new Map([['ops', sink]]),
    createRouter: () => passThroughRouter('ops'),
    createNormalizer: () => ({
      normalize: (r: StreamRecord) => ({
        ok: true as const,
        events: [JSON.parse(Buffer.from(r.data).toString('utf8')) as InventoryEvent],
      }),
    }),
    sleep: async () => {},
    signal: extra.signal,
    onRetry: (what, attempt, error) => {
      retries.push({ what, attempt, error });
      extra.onRetry?.(what, attempt, error);
    },
  });
  return { engine: e, retries };
}

const batch = (records: StreamRecord[]) => ({
  shardId: 'shard-0',
  records,
  checkpointer: { checkpoint: async () => {} },
});

describe('the engine with a real webhook sink', () => {
  it('parks the notifications of a webhook answering 410 Gone, and the checkpoint moves', async () => {
    const hook = await endpoint(410, 'this webhook was deleted');
    const store = new MemoryStateStore();
    const sink = withRetry(new WebhookSink({ url: hook.url, name: 'ops' }), { sleep: async () => {} });
    // Were 410 taken for transient, the engine would retry for ever: stop it, and the test fails fast.
    const stop = new AbortController();
    const { engine: e, retries } = engine(store, sink, {
      signal: stop.signal,
      onRetry: (_what, attempt) => {
        if (attempt === 3) stop.abort(new Error('retried a permanent refusal'));
      },
    });
    await e.start();
    const report = await e.processBatch(batch(alarming()));

    expect(report.notifications).toHaveLength(0);
    expect(report.undelivered).toHaveLength(2);
    const parked = store.undelivered();
    expect(parked.map((u) => u.notification.id).sort()).toEqual(
      report.undelivered.map((u) => u.notification.id).sort(),
    );
    for (const u of parked) {
      expect(u).toMatchObject({ receiver: 'ops', shardId: 'shard-0' });
      expect(u.reason).toContain('answered HTTP 410 Gone');
      expect(u.reason).not.toContain(SECRET);
    }
    expect(await store.loadCheckpoint('shard-0')).toEqual({ sequenceNumber: '4', subSequenceNumber: 0 });
    // Refused for good: never retried, neither by withRetry nor by the engine (the batch, then one
    // request per notification to find which are refused).
    expect(retries).toEqual([]);
    expect(hook.requests()).toBe(3);
  });

  it('holds the checkpoint on an unreachable webhook and names the cause: ECONNREFUSED', async () => {
    const url = await unreachable();
    const store = new MemoryStateStore();
    const sink = withRetry(new WebhookSink({ url, name: 'ops' }), { retries: 1, sleep: async () => {} });
    const stop = new AbortController();
    const health = new DependencyHealth();
    const { engine: e, retries } = engine(store, sink, {
      signal: stop.signal,
      onRetry: (what, attempt, error) => {
        health.failed(what, error);
        if (attempt === 3) stop.abort(new Error('SIGTERM'));
      },
    });
    await e.start();
    const failed = await e.processBatch(batch(alarming())).catch((err: unknown) => err);

    expect(failed).toBeInstanceOf(RetryGiveUpError);
    expect(failed).toMatchObject({ reason: 'aborted', what: 'sink ops' });
    expect(retries.map((r) => [r.what, r.attempt])).toEqual([
      ['sink ops', 1],
      ['sink ops', 2],
      ['sink ops', 3],
    ]);
    const origin = new URL(url).origin;
    const host = new URL(url).host;
    for (const r of retries) {
      expect(describeCause(r.error)).toBe(
        `webhook sink "ops": POST to ${origin}: fetch failed: connect ECONNREFUSED ${host}`,
      );
    }
    const [failing] = health.failingFor(0);
    expect(failing).toMatchObject({ what: 'sink ops' });
    expect(failing?.cause).toContain('ECONNREFUSED');
    expect(health.describe(health.failingFor(0))).not.toContain(SECRET);
    expect(store.commits).toBe(0);
    expect(await store.loadCheckpoint('shard-0')).toBeNull();
    expect(store.undelivered()).toEqual([]);
  });
});

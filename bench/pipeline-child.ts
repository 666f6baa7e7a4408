/**
 * Child process of the pipeline bench (a fresh heap per measurement):
 *   throughput EVENTS_FILE DB_FILE   replay a generated stream through normalize → state → detect →
 *                                    router → file sink → SQLite commit; print records/s and events/s
 *   memory N                         track N SKU × warehouse series; print bytes per series
 */
import { readFileSync, rmSync } from 'node:fs';
import { NdjsonFileSink } from '../connectors/sinks/index.js';
import { createSqliteStore } from '../connectors/sql/index.js';
import {
  AlertRouter,
  createNormalizer,
  InventoryDetector,
  InventoryEngine,
  type InventoryEvent,
  InventoryState,
  type StreamRecord,
} from '../pipeline/index.js';

const [mode, a, b] = process.argv.slice(2);

function records(lines: string[]): StreamRecord[] {
  return lines.map((l, i) => ({
    partitionKey: 'p',
    data: Buffer.from(l),
    sequenceNumber: String(i + 1),
    subSequenceNumber: 0,
    approximateArrivalTimestamp: Date.now(),
  }));
}

if (mode === 'throughput') {
  const lines = readFileSync(a, 'utf8').split('\n').filter(Boolean);
  const all = records(lines);
  rmSync(b, { force: true });
  const sink = new NdjsonFileSink({ name: 'file', path: `${b}.alerts.ndjson` });
  const engine = new InventoryEngine({
    store: createSqliteStore({ path: b }),
    sinks: new Map([['file', sink]]),
    createRouter: () => new AlertRouter({ defaultReceivers: ['file'] }),
    createNormalizer: (casePack) => createNormalizer({ casePack }),
  });
  await engine.start();
  let events = 0;
  const t0 = performance.now();
  for (let i = 0; i < all.length; i += 5000) {
    const r = await engine.processBatch({
      shardId: 'bench',
      records: all.slice(i, i + 5000),
      checkpointer: { checkpoint: async () => {} },
    });
    events += r.events;
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ records: all.length, events, seconds })}\n`);
} else if (mode === 'memory') {
  const n = Number(a);
  // What the engine keeps per series: the state's columns and one shard detector's memory (plus a
  // 4-byte owner epoch per series in the engine itself).
  const state = new InventoryState();
  const engine = { state, detector: new InventoryDetector(state) };
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  // Each series: an opening count, a receipt and a sale, applied straight to state and detector.
  for (let i = 0; i < n; i++) {
    const sku = `SKU-${String(i).padStart(7, '0')}`;
    for (const [kind, q] of [
      ['cycle_count', 20],
      ['receipt', 12],
      ['sale_placed', 1],
    ] as const) {
      const e: InventoryEvent = {
        eventId: `${sku}-${kind}`,
        sourceId: `${sku}-${kind}`,
        source: 'wms',
        kind,
        sku,
        warehouse: 'WH-EAST',
        occurredAt: 1_767_600_000_000 + i,
        quantity: q,
      };
      engine.detector.onEvent(e, engine.state.apply(e));
    }
  }
  engine.state.takeDirty();
  gc?.();
  const after = process.memoryUsage();
  const bytes = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  process.stdout.write(`${JSON.stringify({ series: n, bytesPerSeries: bytes / n })}\n`);
}

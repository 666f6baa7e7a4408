/**
 * The two sides of an outage's comparison: what an undisturbed run of the same configuration ends in
 * (the engine in-process over the same generated records, a memory store), and what the job's store
 * holds at the end.
 */
import { createEngineFromConfig } from '../../cli/engine-from-config.js';
import { createLocalSource, GENERATOR_SHARD_ID } from '../../connectors/sources/index.js';
import { createStoreFromConfig } from '../../connectors/stores.js';
import {
  type AlertNotification,
  type AlertSink,
  loadRunConfig,
  MemoryStateStore,
  type SeriesRow,
} from '../../pipeline/index.js';
import { LOCAL_AWS_ENV } from './job.js';

class RecordingSink implements AlertSink {
  readonly ids: string[] = [];
  constructor(readonly name: string) {}
  async publish(notifications: readonly AlertNotification[]): Promise<void> {
    for (const x of notifications) this.ids.push(x.id);
  }
  async close(): Promise<void> {}
}

/**
 * What an undisturbed run of a configuration ends in: its memory store, a recording sink per
 * configured sink name, and how many records the generator streamed.
 *
 * @example
 * ```ts
 * const ref: Reference = await reference(configPath);
 * ref.sinks.get('file')?.ids;
 * ```
 */
export interface Reference {
  store: MemoryStateStore;
  sinks: Map<string, { ids: string[] }>;
  records: number;
}

/**
 * Runs the configuration's generator stream through the same engine in-process, undisturbed.
 *
 * @example
 * ```ts
 * const expected = await reference(configPath);
 * ```
 */
export async function reference(config: string): Promise<Reference> {
  const run = loadRunConfig({ file: config, env: {} });
  if (run.source.type !== 'generator') throw new Error('the outage cases stream the generator');
  const store = new MemoryStateStore();
  const sinks = new Map(run.alerts.sinks.map((s) => [s.name, new RecordingSink(s.name)]));
  const engine = createEngineFromConfig(run, { store, sinks });
  await engine.start();
  const source = createLocalSource(
    { ...run.source, rate: 0 },
    { batch: run.batch, loadCheckpoint: () => null, onCheckpoint: () => {} },
  );
  await source.run((shardId) => engine.createProcessor(shardId), new AbortController().signal);
  const checkpoint = await store.loadCheckpoint(GENERATOR_SHARD_ID);
  return { store, sinks, records: Number(checkpoint?.sequenceNumber ?? 0) };
}

const bySeries = (a: SeriesRow, b: SeriesRow): number =>
  `${a.sku}|${a.warehouse}`.localeCompare(`${b.sku}|${b.warehouse}`);

/**
 * What the job's store holds at the end, read through the factory `shelfwatch run` uses.
 *
 * @example
 * ```ts
 * const got = await stored(configPath);
 * got.series.length;
 * ```
 */
export async function stored(config: string) {
  // The DynamoDB store reads the standard AWS chain: the local stand-in's dummy credentials meanwhile.
  const saved = Object.fromEntries(Object.keys(LOCAL_AWS_ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, LOCAL_AWS_ENV);
  const store = createStoreFromConfig(loadRunConfig({ file: config, env: {} }).store);
  try {
    await store.open();
    const state = await store.load();
    return {
      series: [...state.series].sort(bySeries),
      anomalyIds: (await store.listAnomalies()).map((a) => a.id).sort(),
      deadLetters: await store.countDeadLetters(),
      checkpoint: await store.loadCheckpoint(GENERATOR_SHARD_ID),
    };
  } finally {
    await store.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

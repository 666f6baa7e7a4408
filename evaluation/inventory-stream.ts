/**
 * Scores the stream job's detectors on a generated, labelled inventory stream: the events are replayed
 * through the real pipeline (normalize → state → detect, in memory), and what it raises is compared
 * with the labels at two levels:
 *
 * - **events**: an event is positive when a label names it; its score is the highest anomaly score it
 *   raised (0 if none). This gives the confusion matrix, precision, recall, ROC-AUC and AP.
 * - **windows**, per SKU × warehouse: a label's window is found when an anomaly on the same SKU and
 *   warehouse falls inside it; an anomaly inside no window of its series is a false alert. Matching on
 *   the series matters: with hundreds of alerts a day, any window would contain *some* alert.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { AnomalyLabel } from '../datasets/index.js';
import {
  type Anomaly,
  createNormalizer,
  type EngineOptions,
  InventoryEngine,
  type InventoryEvent,
  MemoryStateStore,
  type StreamRecord,
  seriesKey,
} from '../pipeline/index.js';
import { EvaluationError } from './errors.js';
import { evaluateScores } from './evaluate.js';
import type { DetectorEvaluation } from './report.js';
import {
  type AnomalyWindow,
  evaluateWindows,
  type WindowEvaluation,
  type WindowTypeStats,
} from './windows.js';

/** A window on one series (`key` = `sku|warehouse`). */
export interface KeyedWindow extends AnomalyWindow {
  key: string;
}

/** An alert on one series. */
export interface KeyedAlert {
  key: string;
  time: number;
}

/**
 * Window evaluation where a window can only be found by an alert on its own series.
 *
 * @example
 * ```ts
 * const r = evaluateKeyedWindows([{ key: 'SKU-1|WH-EAST', start: 0, end: 10, type: 'shrinkage' }],
 *   [{ key: 'SKU-1|WH-EAST', time: 5 }, { key: 'SKU-2|WH-EAST', time: 5 }]);
 * // r.found 1, r.falseAlerts 1
 * ```
 */
export function evaluateKeyedWindows(
  windows: readonly KeyedWindow[],
  alerts: readonly KeyedAlert[],
): WindowEvaluation {
  const wByKey = new Map<string, KeyedWindow[]>();
  for (const w of windows) {
    const list = wByKey.get(w.key);
    if (list) list.push(w);
    else wByKey.set(w.key, [w]);
  }
  const aByKey = new Map<string, number[]>();
  for (const a of alerts) {
    const list = aByKey.get(a.key);
    if (list) list.push(a.time);
    else aByKey.set(a.key, [a.time]);
  }
  let found = 0;
  let truePositiveAlerts = 0;
  let falseAlerts = 0;
  const delays: number[] = [];
  const perWindow: WindowEvaluation['perWindow'] = [];
  for (const key of new Set([...wByKey.keys(), ...aByKey.keys()])) {
    const ws = wByKey.get(key) ?? [];
    const as = aByKey.get(key) ?? [];
    if (ws.length === 0) {
      falseAlerts += as.length;
      continue;
    }
    const r = evaluateWindows(ws, as);
    found += r.found;
    truePositiveAlerts += r.truePositiveAlerts;
    falseAlerts += r.falseAlerts;
    delays.push(...r.delays);
    perWindow.push(...r.perWindow);
  }
  const perType: Record<string, WindowTypeStats> = {};
  const typeDelays = new Map<string, number[]>();
  for (const w of perWindow) {
    if (w.type === undefined) continue;
    const t = perType[w.type] ?? { windows: 0, found: 0, recall: 0, meanDelay: null };
    perType[w.type] = { ...t, windows: t.windows + 1, found: t.found + (w.found ? 1 : 0) };
    if (w.found) {
      if (w.delay !== null) {
        const d = typeDelays.get(w.type) ?? [];
        d.push(w.delay);
        typeDelays.set(w.type, d);
      }
    }
  }
  for (const [type, t] of Object.entries(perType)) {
    const d = typeDelays.get(type) ?? [];
    perType[type] = {
      windows: t.windows,
      found: t.found,
      recall: t.windows ? t.found / t.windows : 0,
      meanDelay: d.length ? d.reduce((s, x) => s + x, 0) / d.length : null,
    };
  }
  const sorted = Float64Array.from(delays).sort();
  const h = sorted.length >> 1;
  const nAlerts = alerts.length;
  return {
    windows: windows.length,
    found,
    windowRecall: windows.length ? found / windows.length : 0,
    alerts: nAlerts,
    truePositiveAlerts,
    falseAlerts,
    alertPrecision: nAlerts ? truePositiveAlerts / nAlerts : 0,
    delays,
    meanDelay: delays.length ? delays.reduce((s, x) => s + x, 0) / delays.length : null,
    medianDelay: sorted.length === 0 ? null : sorted.length % 2 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2,
    perType,
    perWindow,
  };
}

/**
 * An engine for offline replays (evaluation, training): state in memory, no sinks, every anomaly handed
 * to `onAnomaly` as raised (before deduplication) and every normalized event to `onEvent`.
 *
 * @example
 * ```ts
 * const anomalies: Anomaly[] = [];
 * await replayNdjson(replayEngine({ onAnomaly: (a) => anomalies.push(a) }), 'data/demo/events.ndjson');
 * ```
 */
export function replayEngine(options: {
  models?: EngineOptions['models'];
  onAnomaly?: (a: Anomaly) => void;
  onEvent?: (e: InventoryEvent) => void;
}): InventoryEngine {
  return new InventoryEngine({
    models: options.models,
    store: new MemoryStateStore(),
    sinks: new Map(),
    createRouter: () => ({
      add: (a) => options.onAnomaly?.(a),
      advance: () => [],
      flushAll: () => [],
      toJSON: () => ({}),
    }),
    createNormalizer: (casePack) => {
      // A labelled dataset's records carry no arrival time (the replay stamps none): no future check.
      const n = createNormalizer({ casePack, maxFutureSkewMs: Number.POSITIVE_INFINITY });
      const onEvent = options.onEvent;
      if (!onEvent) return n;
      return {
        normalize(record: StreamRecord, shardId: string) {
          const r = n.normalize(record, shardId);
          if (r.ok) for (const e of r.events) onEvent(e);
          return r;
        },
      };
    },
  });
}

/**
 * Feeds an NDJSON file of raw records through an engine in batches (line numbers as sequence numbers),
 * the way a file source would, but without pacing or checkpoints: for evaluation and training.
 *
 * @example
 * ```ts
 * await replayNdjson(engine, 'data/demo/events.ndjson');
 * ```
 */
export async function replayNdjson(
  engine: InventoryEngine,
  path: string,
  onProgress?: (records: number) => void,
  batchSize = 2000,
): Promise<number> {
  await engine.start();
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let batch: StreamRecord[] = [];
  let line = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await engine.processBatch({
      shardId: 'replay',
      records: batch,
      checkpointer: { checkpoint: async () => {} },
    });
    batch = [];
    onProgress?.(line);
  };
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    batch.push({
      partitionKey: 'replay',
      data: Buffer.from(text, 'utf8'),
      sequenceNumber: String(line),
      subSequenceNumber: 0,
      approximateArrivalTimestamp: 0,
    });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return line;
}

/**
 * The `detector` of the anomalies a loaded count model raises (the pipeline's `iforest:count`): its row
 * is in every evaluation with a model, even when the model flagged nothing, so that a report shows it ran.
 *
 * @example
 * ```ts
 * results.find((r) => r.detector === COUNT_MODEL_DETECTOR);
 * ```
 */
export const COUNT_MODEL_DETECTOR = 'iforest:count';

/**
 * Finds events.ndjson and labels.ndjson from a dataset folder or the events file itself; null when
 * either is missing ({@link requireDataset} says which).
 *
 * @example
 * ```ts
 * locateDataset('data/demo'); // { events: 'data/demo/events.ndjson', labels: 'data/demo/labels.ndjson' }
 * ```
 */
export function locateDataset(input: string): { events: string; labels: string } | null {
  const dir = existsSync(input) && statSync(input).isDirectory() ? input : dirname(input);
  const events = existsSync(input) && statSync(input).isDirectory() ? join(input, 'events.ndjson') : input;
  const labels = join(dir, 'labels.ndjson');
  if (!events.endsWith('.ndjson') || !existsSync(events) || !existsSync(labels)) return null;
  return { events, labels };
}

const GENERATE_HINT = 'generate one with shelfwatch generate --out DIR';

/**
 * Like {@link locateDataset}, but throws an {@link EvaluationError} that names the missing part
 * (the path itself, events.ndjson, or labels.ndjson when `labels` is needed) and how to make one.
 *
 * @example
 * ```ts
 * requireDataset('data/demo', { labels: true });
 * // EvaluationError: data/demo: no labels.ndjson: /home/me/data/demo/labels.ndjson does not exist (…)
 * ```
 */
export function requireDataset(input: string, need: { labels: boolean }): { events: string; labels: string } {
  if (!existsSync(input)) throw new EvaluationError(`${input}: no such file or directory`);
  const isDir = statSync(input).isDirectory();
  const events = isDir ? join(input, 'events.ndjson') : input;
  if (!events.endsWith('.ndjson')) {
    throw new EvaluationError(
      `${input}: expected a dataset folder or an events .ndjson file (${GENERATE_HINT})`,
    );
  }
  if (!existsSync(events)) {
    throw new EvaluationError(
      `${input}: no events.ndjson: ${resolve(events)} does not exist (a dataset folder holds events.ndjson ` +
        `and labels.ndjson; ${GENERATE_HINT})`,
    );
  }
  const labels = join(isDir ? input : dirname(input), 'labels.ndjson');
  if (need.labels && !existsSync(labels)) {
    throw new EvaluationError(
      `${input}: no labels.ndjson: ${resolve(labels)} does not exist (the anomaly labels are written beside ` +
        `events.ndjson; ${GENERATE_HINT})`,
    );
  }
  return { events, labels };
}

/**
 * Replays a generated dataset through the stream job's detectors and evaluates them: one result for
 * the whole pipeline, then one per detector (anomaly `detector` family; with `models.countModel`,
 * always one for {@link COUNT_MODEL_DETECTOR}).
 *
 * @throws EvaluationError naming the missing file when `input` is not a dataset with labels.
 *
 * @example
 * ```ts
 * const results = await evaluateInventoryDataset('data/demo', (n) => process.stderr.write(`${n}\r`));
 * ```
 */
export async function evaluateInventoryDataset(
  input: string,
  onProgress?: (records: number) => void,
  models?: EngineOptions['models'],
): Promise<DetectorEvaluation[]> {
  const files = requireDataset(input, { labels: true });
  const labels = readFileSync(files.labels, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AnomalyLabel);
  const labelledIds = new Set(labels.flatMap((l) => l.eventIds));
  const windows: KeyedWindow[] = labels.map((l) => ({
    key: seriesKey(l.sku, l.warehouse),
    start: Date.parse(l.start),
    end: Date.parse(l.end),
    type: l.type,
    id: l.id,
  }));

  const anomalies: Anomaly[] = [];
  const eventIds: string[] = [];
  /** Labels name raw record ids; a record's events (`<id>#<line>`) are positive when their record is named. */
  const positive: boolean[] = [];
  const seen = new Set<string>();
  const engine = replayEngine({
    models,
    onAnomaly: (a) => anomalies.push(a),
    onEvent: (e) => {
      if (!seen.has(e.eventId)) {
        seen.add(e.eventId);
        eventIds.push(e.eventId);
        positive.push(labelledIds.has(e.eventId) || labelledIds.has(e.sourceId));
      }
    },
  });
  const t0 = performance.now();
  await replayNdjson(engine, files.events, onProgress);
  const seconds = (performance.now() - t0) / 1000;

  const index = new Map(eventIds.map((id, i) => [id, i]));
  const y = Uint8Array.from(positive, (p) => (p ? 1 : 0));
  const dataset = basename(dirname(files.events));
  const result = (name: string, subset: readonly Anomaly[]): DetectorEvaluation => {
    const scores = new Float64Array(eventIds.length);
    for (const a of subset) {
      for (const id of a.eventIds) {
        const i = index.get(id);
        if (i !== undefined && a.score > scores[i]) scores[i] = a.score;
      }
    }
    const r = evaluateScores({
      detector: name,
      dataset,
      scores,
      labels: y,
      ownThreshold: 0,
      spec: { kind: 'auto' },
      seconds,
    });
    r.windows = evaluateKeyedWindows(
      windows,
      subset.map((a) => ({ key: seriesKey(a.sku, a.warehouse), time: a.detectedAt })),
    );
    return r;
  };
  // A family is found from what it raised; a loaded model that raised nothing still gets its row.
  const raised = anomalies.map((a) => a.detector);
  const families = [...new Set(models?.countModel ? [...raised, COUNT_MODEL_DETECTOR] : raised)].sort();
  const pipeline = result('pipeline', anomalies);
  // Precision by the type an alert claims: inside a labelled window of its own series (of any type).
  const byKey = new Map<string, KeyedWindow[]>();
  for (const w of windows) byKey.set(w.key, [...(byKey.get(w.key) ?? []), w]);
  const alertsByType: NonNullable<DetectorEvaluation['alertsByType']> = {};
  for (const a of anomalies) {
    const t = alertsByType[a.type] ?? { alerts: 0, inWindow: 0, precision: 0 };
    const inside = (byKey.get(seriesKey(a.sku, a.warehouse)) ?? []).some(
      (w) => a.detectedAt >= w.start && a.detectedAt <= w.end,
    );
    alertsByType[a.type] = { alerts: t.alerts + 1, inWindow: t.inWindow + (inside ? 1 : 0), precision: 0 };
  }
  for (const t of Object.values(alertsByType)) t.precision = t.inWindow / t.alerts;
  pipeline.alertsByType = alertsByType;
  return [
    pipeline,
    ...families.map((f) =>
      result(
        f,
        anomalies.filter((a) => a.detector === f),
      ),
    ),
  ];
}

/**
 * An Isolation Forest over cycle counts, trained offline (`shelfwatch train`) on a stream's history and
 * loaded by the job (`detection.model`). The rules judge one number (the gap); the forest judges the
 * count as a whole — gap against stock, how long since the last count, how fast the item sells, what
 * shipped in between — and flags counts unlike the history it learned from.
 */
import { IsolationForest, type IsolationForestJSON } from '../../detectors/index.js';
import type { FeatureUnit } from '../ports.js';
import type { ApplyOutcome } from '../state/inventory-state.js';

/** The features of one count, in model order. */
export const COUNT_FEATURES = [
  'gap_share',
  'gap_units',
  'book',
  'days_since_last_count',
  'daily_sales',
  'shipped_since_last_count',
] as const;

/** The model file: versioned, with its feature names so a mismatch is caught at load. */
export interface CountModelJSON {
  kind: 'shelfwatch.CountModel';
  schemaVersion: 1;
  features: string[];
  /** How many counts it was trained on. */
  trainedOn: number;
  forest: IsolationForestJSON;
}

/**
 * The feature vector of a count (into `out`, no allocation), or false when the count cannot be judged
 * (no previous count: the book has no anchor yet).
 */
export function countFeatures(
  o: ApplyOutcome,
  counted: number,
  dailySales: number,
  occurredAt: number,
  out: Float64Array,
): boolean {
  if (Number.isNaN(o.previousCount) || Number.isNaN(o.bookAtCount) || o.alreadyCounted) return false;
  const book = o.bookAtCount;
  const gap = book - counted;
  out[0] = gap / Math.max(1, Math.abs(book));
  out[1] = Math.sign(gap) * Math.log1p(Math.abs(gap));
  out[2] = Math.log1p(Math.max(0, book));
  out[3] = Number.isNaN(o.previousCountAt) ? 0 : (occurredAt - o.previousCountAt) / 86_400_000;
  out[4] = Math.log1p(Math.max(0, dailySales));
  out[5] = Math.log1p(Math.max(0, o.shippedSincePreviousCount));
  return true;
}

/** A loaded count model. */
export interface CountModel {
  readonly forest: IsolationForest;
  readonly trainedOn: number;
}

/**
 * Fits the count model on feature rows (row-major, `COUNT_FEATURES.length` columns).
 *
 * @example
 * ```ts
 * const json = trainCountModel(rows, { seed: 1, contamination: 0.02 });
 * ```
 */
export function trainCountModel(
  rows: Float64Array,
  options: { seed?: number; contamination?: number } = {},
): CountModelJSON {
  const cols = COUNT_FEATURES.length;
  const forest = new IsolationForest({
    seed: options.seed ?? 1,
    contamination: options.contamination ?? 0.02,
  }).fit(rows, cols);
  return {
    kind: 'shelfwatch.CountModel',
    schemaVersion: 1,
    features: [...COUNT_FEATURES],
    trainedOn: rows.length / cols,
    forest: forest.toJSON(),
  };
}

/** A model file is of another kind, version or feature set than this job reads. */
export class CountModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CountModelError';
  }
}

/**
 * Validates and loads a model file's JSON.
 *
 * @example
 * ```ts
 * const model = loadCountModel(JSON.parse(readFileSync('models/counts.json', 'utf8')));
 * ```
 */
export function loadCountModel(json: unknown): CountModel {
  const m = json as Partial<CountModelJSON> | null;
  if (m?.kind !== 'shelfwatch.CountModel') {
    throw new CountModelError(
      `not a shelfwatch count model (kind ${JSON.stringify(m?.kind)}); train one with shelfwatch train`,
    );
  }
  if (m.schemaVersion !== 1)
    throw new CountModelError(`count model schema version ${m.schemaVersion}; this job reads version 1`);
  if (JSON.stringify(m.features) !== JSON.stringify(COUNT_FEATURES)) {
    throw new CountModelError(
      `the model's features ${JSON.stringify(m.features)} differ from this job's ${JSON.stringify(COUNT_FEATURES)}: retrain it`,
    );
  }
  return { forest: IsolationForest.fromJSON(m.forest), trainedOn: m.trainedOn ?? 0 };
}

/**
 * How each count feature is shown to people: the model sees logs (`gap_units`, `book`, `daily_sales`,
 * `shipped_since_last_count`), which read as nonsense in an alert ("book: 4.51"); shown, they are
 * units again, counts as whole numbers.
 */
const SHOWN: ReadonlyArray<{ unit?: FeatureUnit; show: (v: number) => number }> = [
  { unit: 'share', show: (v) => Math.round(v * 1000) / 1000 },
  { unit: 'units', show: (v) => Math.round(Math.sign(v) * Math.expm1(Math.abs(v))) || 0 },
  { unit: 'units', show: (v) => Math.round(Math.expm1(v)) || 0 },
  { unit: 'days', show: (v) => Math.round(v * 10) / 10 },
  // Units sold per day: a rate, so one decimal.
  { show: (v) => Math.round(Math.expm1(v) * 10) / 10 },
  { unit: 'units', show: (v) => Math.round(Math.expm1(v)) || 0 },
];

/**
 * A count feature's model value and its typical value as people read them (see {@link COUNT_FEATURES}).
 *
 * @example
 * ```ts
 * countFeatureShown(2, Math.log1p(90), Math.log1p(40)); // { observed: 90, expected: 40, unit: 'units' }
 * ```
 */
export function countFeatureShown(
  feature: number,
  value: number,
  typical: number,
): { observed: number; expected: number; unit?: FeatureUnit } {
  const view = SHOWN[feature];
  return {
    observed: view.show(value),
    expected: view.show(typical),
    ...(view.unit === undefined ? {} : { unit: view.unit }),
  };
}

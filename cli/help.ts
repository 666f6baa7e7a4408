/**
 * The help texts of every command, in a module that loads nothing heavy: `shelfwatch <command> --help`
 * prints them without importing the command (the AWS SDK, the stores, the detectors…). Each ends with
 * runnable examples; `test/cli.test.ts` checks that the printed help is the command's own.
 */
import { DEFAULT_GENERATOR_OPTIONS } from '../datasets/generator/options.js';
import { ANOMALY_TYPES } from '../datasets/generator/wire-formats.js';
import {
  DEFAULT_SERIES_DETECTOR,
  SERIES_DETECTOR_SUMMARIES,
  TABULAR_DETECTOR_SUMMARIES,
} from '../evaluation/detector-catalog.js';
import { REPORT_FORMATS } from '../evaluation/report.js';

/**
 * The count model's features as `train --help` names them: the same list as `COUNT_FEATURES` of
 * `pipeline/detect/count-model.ts`, which imports the detectors (a test keeps the two equal).
 *
 * @example
 * ```ts
 * COUNT_FEATURE_NAMES.split(', ').length; // 6
 * ```
 */
export const COUNT_FEATURE_NAMES =
  'gap_share, gap_units, book, days_since_last_count, daily_sales, shipped_since_last_count';

const list = (ds: Readonly<Record<string, string>>): string =>
  Object.entries(ds)
    .map(([name, summary]) => `    ${name.padEnd(14)} ${summary}`)
    .join('\n');

const d = DEFAULT_GENERATOR_OPTIONS;

/** `items` joined by commas, in lines of at most 100 columns, each after `indent` spaces. */
const wrapList = (items: readonly string[], indent: number): string => {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    const next = line ? `${line}, ${item}` : item;
    if (line && indent + next.length + 1 > 100) {
      lines.push(`${line},`);
      line = item;
    } else line = next;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
};

/**
 * The help of `shelfwatch run`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${RUN_HELP}\n`);
 * ```
 */
export const RUN_HELP = `Usage: shelfwatch run [--config FILE]

Runs the stream job: reads records from the configured source, normalizes them (bad records go to the
dead-letter table with their reason), keeps per-SKU × warehouse inventory state exactly once in effect,
detects anomalies and sends explained alerts, checkpointing only what every sink has acknowledged.

With no configuration it runs the embedded default: the generator as a live source (2,000 events/s,
ten simulated years: source.days 3650, a simulated day every few seconds), SQLite state in
data/shelfwatch.db, alerts on the console, metrics on http://127.0.0.1:9464/metrics. The generator stamps
each record with its simulated arrival time, so the event-time checks and the checkpoint lag read against
the simulation's clock, not the wall clock.
Stop it with Ctrl-C (it finishes the batch and checkpoints). A second start resumes from the checkpoint and
says so (resuming after record N from the checkpoint in SQLite data/shelfwatch.db); delete
data/shelfwatch.db and its -wal and -shm files to start over. A metrics port in use stops the start with
exit code 2: set metrics.port (0 turns the server off).
Alerts go to standard output; logs to standard error, one short line per event on a terminal and JSON
lines when piped or in a container (log.format: auto | json | pretty).

Options:
  --config FILE   YAML run configuration (also SHELFWATCH_CONFIG); every key can be overridden by an
                  environment variable SHELFWATCH_<PATH>, e.g. SHELFWATCH_SOURCE__RATE=500,
                  SHELFWATCH_STORE__PATH=/var/lib/shelfwatch/state.db
  -h, --help      this help

Sources (source.type): generator (default), file, stdin, kinesis. Kinesis shares shards among every
worker with the same applicationName through a DynamoDB lease table of that name:
  source: { type: kinesis, stream: inventory, applicationName: shelfwatch, workerId: host-1,
            initialPosition: TRIM_HORIZON, failoverTimeMs: 10000, pollIntervalMs: 1000 }
State stores (store.type): sqlite (default), mysql (also RDS: ssl: rds), dynamodb:
  store: { type: mysql, url: mysql://shelfwatch@db.internal:3306/shelfwatch }
  store: { type: dynamodb, tableName: shelfwatch-state, region: eu-west-1 }
Alert sinks (alerts.sinks[].type): console, file, webhook, sns, slack, email:
  alerts:
    sinks: [{ type: console }, { type: sns, topicArn: arn:aws:sns:eu-west-1:123456789012:alerts },
            { type: slack }]   # webhookUrl from SHELFWATCH_ALERTS__SINKS__2__WEBHOOKURL
    routes: [{ match: { severities: [critical] }, receivers: [console, sns] }]
Per-series metrics (metricsSinks[].type): timestream.
AWS clients read the standard chain (AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, instance roles…);
put secrets (passwords, webhook URLs) in SHELFWATCH_<PATH> variables rather than the file; they are
redacted from every log line.

Example configuration:
  source: { type: file, path: data/demo/events.ndjson }
  store: { type: sqlite, path: data/shelfwatch.db }
  alerts:
    sinks: [{ type: console }, { type: file, path: data/alerts.ndjson }]
    routes: [{ match: { severities: [critical] }, receivers: [console, file] }]
  metrics: { port: 9464 }

Examples:
  shelfwatch run
  shelfwatch run --config shelfwatch.yaml
  SHELFWATCH_SOURCE__TYPE=file SHELFWATCH_SOURCE__PATH=data/demo/events.ndjson shelfwatch run`;

/**
 * The help of `shelfwatch train`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${TRAIN_HELP}\n`);
 * ```
 */
export const TRAIN_HELP = `Usage: shelfwatch train --input DIR|events.ndjson --out model.json [options]

Replays a stream's history through the job (in memory) and fits an Isolation Forest on its cycle counts:
${COUNT_FEATURE_NAMES}.
shelfwatch run loads the model with detection.model (or SHELFWATCH_DETECTION__MODEL) and flags the counts
unlike that history which the count-gap rule lets pass.

Options:
  --input PATH          a folder written by shelfwatch generate, or an NDJSON file of raw records (required)
  --out FILE            where to write the model JSON (required)
  --seed N              seed of the forest (default 1)
  --contamination R     share of history counts taken as anomalous, sets the threshold (default 0.02)
  --quiet               no progress on stderr
  -h, --help            this help

Examples:
  shelfwatch train --input data/demo --out models/counts.json
  shelfwatch train --input data/demo/events.ndjson --out models/counts.json --contamination 0.01 --seed 7`;

/**
 * The help of `shelfwatch generate`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${GENERATE_HELP}\n`);
 * ```
 */
export const GENERATE_HELP = `Usage: shelfwatch generate --out DIR [options]

Simulates an e-commerce inventory (SKUs across warehouses, seasonal demand, promotions, purchase orders
and supplier lead times, receipts, returns, damage, cycle counts) and writes, into DIR:
  events.ndjson   the raw stream: supplier records, sales-order events and warehouse log rows, in arrival order
  labels.ndjson   one line per injected anomaly: type, SKU, warehouse, time window, event ids
  manifest.json   options, counts and SHA-256 of both files (same seed and options: identical bytes)

Options:
  --out DIR              output folder (required; created if missing)
  --seed N               random seed (default ${d.seed})
  --days D               simulated days (default ${d.days})
  --skus K               SKUs (default ${d.skus})
  --warehouses W         warehouses, every SKU stocked in each (default ${d.warehouses})
  --anomaly-rate R       injected anomalies per SKU × warehouse per day (default ${d.anomalyRate})
  --mix SPEC             anomaly weights, e.g. "sales_spike=3,stuck_feed=0" or "only:shrinkage,phantom_stock"
                         types: ${wrapList(ANOMALY_TYPES, 32)}
  --start ISO            start of the simulation (default ${d.start})
  --duplicate-rate R     records delivered twice, as at-least-once delivery does (default ${d.duplicateRate})
  --late-rate R          records arriving minutes to hours late (default ${d.lateRate})
  --malformed-rate R     records followed by an unparseable line (default ${d.malformedRate})
  --quiet                no progress on stderr
  -h, --help             this help

Volume is roughly 1,300 events per SKU × warehouse per 100 days at the default demand: for 10M events try
--skus 5000 --warehouses 3 --days 50.

Examples:
  shelfwatch generate --out data/demo
  shelfwatch generate --out data/small --days 14 --skus 50 --seed 7
  shelfwatch generate --out data/spikes --mix only:sales_spike,shrinkage --anomaly-rate 0.05 --quiet`;

/**
 * The help of `shelfwatch evaluate`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${EVALUATE_HELP}\n`);
 * ```
 */
export const EVALUATE_HELP = `Usage: shelfwatch evaluate --input FILE|DIR [options]

Scores anomaly detectors on a labelled data set and reports the confusion matrix, precision, recall, F1,
ROC-AUC and average precision (scikit-learn's definitions), per detector, side by side.

Input kinds:
  stream        a folder written by shelfwatch generate (events.ndjson + labels.ndjson): replayed through the
                stream job's detectors; scored per event and per labelled window on the same SKU × warehouse
                (window recall, false alerts, detection delay), for the pipeline and for each detector
  tabular CSV   a header row, numeric feature columns and a 0/1 label column (1 = anomaly), as the ODDS sets
  series CSV    timestamp,value[,label] (NAB-style); labels may come from --windows instead
A folder needs both events.ndjson and labels.ndjson. Labels of one class only (no anomaly, or nothing
else) leave ROC-AUC and PR-AUC (AP) undefined: evaluate warns on stderr and in the report.

Options:
  --input FILE|DIR      the labelled data (required)
  --detector LIST       comma-separated (default: all for the input kind)
  --label COL           the label column of a tabular CSV (default label)
  --model FILE          with a dataset folder: also run the count model trained by shelfwatch train;
                        stderr says what was loaded and its alerts are the iforest:count row
  --windows FILE        anomaly windows JSON { "<file name>": [[start, end], …] } for a series: adds window
                        recall, false alerts and detection delay
  --seed N              seed of every random choice (default 0)
  --min-pts N           DBSCAN's minPts, also the k of the k-distance curve that sets eps; the table needs
                        at least that many rows (default max(4, 2 × feature columns))
  --threshold RULE      auto (each detector's own cut, default) | best-f1 (optimistic) | contamination:R | a number
  --format F            ${REPORT_FORMATS.join(' | ')} (default text); json prints one object per detector per line
  --out FILE            write the report there instead of standard output
  -h, --help            this help

Detectors for tabular data:
${list(TABULAR_DETECTOR_SUMMARIES)}
Detectors for series:
${list(SERIES_DETECTOR_SUMMARIES)}

Examples:
  shelfwatch evaluate --input data/demo
  shelfwatch evaluate --input data/demo --model models/counts.json --format html --out report.html
  shelfwatch evaluate --input mammography.csv --detector iforest,zscore --threshold best-f1
  shelfwatch evaluate --input small.csv --detector dbscan --min-pts 3
  shelfwatch evaluate --input ts.csv --windows windows.json --format markdown`;

/**
 * The help of `shelfwatch score-series`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${SCORE_SERIES_HELP}\n`);
 * ```
 */
export const SCORE_SERIES_HELP = `Usage: shelfwatch score-series --input ts.csv --out scores.csv [--detector NAME]

Runs a streaming detector over a univariate series in order (each point scored before it is learned) and
writes timestamp,value,anomaly_score,label with scores in [0, 1], for external benchmark scorers.

The input has one value column: a header timestamp,value[,label] (in any order, any case), or no header
and the columns in that order. Any other header (a table such as f0,f1,label) is refused with exit code 2:
score a table with shelfwatch evaluate.

Options:
  --input FILE       timestamp,value[,label] CSV (required)
  --out FILE         output CSV (required)
  --detector NAME    default ${DEFAULT_SERIES_DETECTOR} (the best of ours on generated inventory series)
  -h, --help         this help

Detectors:
${list(SERIES_DETECTOR_SUMMARIES)}

Examples:
  shelfwatch score-series --input ts.csv --out scores.csv
  shelfwatch score-series --input ts.csv --out scores.csv --detector ewma`;

/**
 * The help of `shelfwatch replay`.
 *
 * @example
 * ```ts
 * process.stdout.write(`${REPLAY_HELP}\n`);
 * ```
 */
export const REPLAY_HELP = `Usage: shelfwatch replay --input DIR|events.ndjson --to kinesis --stream NAME [options]

Puts raw records on a Kinesis stream with PutRecords (at most 500 records and 5 MiB per call, and at most
one record per partition key per call, so that records the service rejects are retried with back-off
without overtaking the next record of their key), partition key SKU × warehouse so that one item's
events stay in order on one shard. For demos and load tests.

Options:
  --input PATH       a folder written by shelfwatch generate, or an NDJSON file of raw records (required)
  --to kinesis       the destination (required; Kinesis is the only one)
  --stream NAME      the stream (required)
  --rate N           user records (lines) per second (default 0: as fast as the stream takes them)
  --aggregate        KPL-aggregate the records: each Kinesis record carries up to ~25 KB of lines of ONE
                     partition key (consumers de-aggregate: the KCL, shelfwatch's Kinesis source
                     and its Lambda handler)
  --endpoint URL     a Kinesis endpoint (default: AWS_ENDPOINT_URL_KINESIS or AWS's own)
  --region R         the AWS region (default: AWS_REGION / the AWS configuration)
  --quiet            no progress on stderr
  -h, --help         this help

Credentials come from the standard AWS chain (environment, profile, instance role).

Examples:
  shelfwatch replay --input data/demo --to kinesis --stream inventory
  shelfwatch replay --input data/demo --to kinesis --stream inventory --rate 500 --aggregate
  shelfwatch replay --input data/demo --to kinesis --stream inventory --endpoint http://localhost:4567 --region us-east-1`;

/** `shelfwatch evaluate` and `shelfwatch score-series`: detectors scored on labelled data. */
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { loadSeriesCsv, loadTabularCsv, loadWindowsJson } from '../datasets/index.js';
import {
  type AnomalyWindow,
  DEFAULT_SERIES_DETECTOR,
  type DetectorEvaluation,
  EvaluationError,
  evaluateInventoryDataset,
  evaluateSeries,
  evaluateTabular,
  parseThresholdSpec,
  pickDetectors,
  REPORT_FORMATS,
  type ReportFormat,
  renderReport,
  SERIES_DETECTORS,
  type SeriesDetector,
  scoreSeries,
  TABULAR_DETECTORS,
} from '../evaluation/index.js';
import { loadCountModel } from '../pipeline/detect/count-model.js';
import { integerFlag, parseCommandArgs, UsageError } from './args.js';
import type { Command } from './commands.js';

const list = (ds: readonly { name: string; summary: string }[]): string =>
  ds.map((d) => `    ${d.name.padEnd(14)} ${d.summary}`).join('\n');

export const EVALUATE_HELP = `Usage: shelfwatch evaluate --input FILE|DIR [options]

Scores anomaly detectors on a labelled data set and reports the confusion matrix, precision, recall, F1,
ROC-AUC and average precision (scikit-learn's definitions), per detector, side by side.

Input kinds:
  stream        a folder written by shelfwatch generate (events.ndjson + labels.ndjson): replayed through the
                stream job's detectors; scored per event and per labelled window on the same SKU × warehouse
                (window recall, false alerts, detection delay), for the pipeline and for each detector
  tabular CSV   a header row, numeric feature columns and a 0/1 label column (1 = anomaly), as the ODDS sets
  series CSV    timestamp,value[,label] (NAB-style); labels may come from --windows instead

Options:
  --input FILE|DIR      the labelled data (required)
  --detector LIST       comma-separated (default: all for the input kind)
  --label COL           the label column of a tabular CSV (default label)
  --model FILE          with a stream: also load a count model trained by shelfwatch train
  --windows FILE        anomaly windows JSON { "<file name>": [[start, end], …] } for a series: adds window
                        recall, false alerts and detection delay
  --seed N              seed of every random choice (default 0)
  --threshold RULE      auto (each detector's own cut, default) | best-f1 (optimistic) | contamination:R | a number
  --format F            ${REPORT_FORMATS.join(' | ')} (default text); json prints one object per detector per line
  --out FILE            write the report there instead of standard output
  -h, --help            this help

Detectors for tabular data:
${list(TABULAR_DETECTORS)}
Detectors for series:
${list(SERIES_DETECTORS)}`;

export const SCORE_SERIES_HELP = `Usage: shelfwatch score-series --input ts.csv --out scores.csv [--detector NAME]

Runs a streaming detector over a univariate series in order (each point scored before it is learned) and
writes timestamp,value,anomaly_score,label with scores in [0, 1], for external benchmark scorers.

Options:
  --input FILE       timestamp,value[,label] CSV (required)
  --out FILE         output CSV (required)
  --detector NAME    default ${DEFAULT_SERIES_DETECTOR} (the best of ours on generated inventory series)
  -h, --help         this help

Detectors:
${list(SERIES_DETECTORS)}`;

async function firstLine(path: string): Promise<string> {
  const rl = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of rl) {
    if (line.trim() !== '') {
      rl.close();
      return line.replace(/^\uFEFF/, '');
    }
  }
  return '';
}

function checkInput(path: string | undefined, command: string, streams = false): string {
  if (!path) throw new UsageError(`${command} needs --input FILE (see shelfwatch ${command} --help)`);
  if (!existsSync(path)) throw new UsageError(`--input ${path}: no such file`);
  if (!streams && (statSync(path).isDirectory() || path.endsWith('.ndjson'))) {
    throw new UsageError(
      `--input ${path} is an event stream; ${command} takes a timestamp,value[,label] CSV`,
    );
  }
  return path;
}

/** A series file starts with a `timestamp` column, or (headerless) with an ISO date. */
function isSeriesHeader(header: string): boolean {
  const first = header.split(',')[0].trim().replace(/^"|"$/g, '');
  return first.toLowerCase() === 'timestamp' || /^\d{4}-\d{2}-\d{2}/.test(first);
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'score detectors on a labelled CSV: confusion matrix, precision, recall, F1, ROC-AUC, AP',
  async run(argv) {
    const values = parseCommandArgs(
      argv,
      {
        input: { type: 'string' },
        detector: { type: 'string' },
        label: { type: 'string', default: 'label' },
        windows: { type: 'string' },
        model: { type: 'string' },
        seed: { type: 'string' },
        threshold: { type: 'string', default: 'auto' },
        format: { type: 'string', default: 'text' },
        out: { type: 'string' },
      },
      EVALUATE_HELP,
    );
    if (values === null) return 0;
    const input = checkInput(values.input, 'evaluate', true);
    const format = values.format as ReportFormat;
    if (!REPORT_FORMATS.includes(format)) {
      throw new UsageError(`--format takes ${REPORT_FORMATS.join(', ')}, got '${values.format}'`);
    }
    const seed = integerFlag('seed', values.seed, 0);
    try {
      const spec = parseThresholdSpec(values.threshold);
      const name = basename(input);
      let results: DetectorEvaluation[];
      if (statSync(input).isDirectory() || input.endsWith('.ndjson')) {
        if (values.detector) {
          throw new EvaluationError(
            "a generated stream is scored with the stream job's own detectors: drop --detector",
          );
        }
        process.stderr.write(`evaluate: replaying ${input} through the stream job's detectors\n`);
        const countModel = values.model
          ? loadCountModel(JSON.parse(readFileSync(values.model, 'utf8')))
          : undefined;
        results = await evaluateInventoryDataset(input, undefined, { countModel });
      } else if (isSeriesHeader(await firstLine(input))) {
        const detectors = pickDetectors(
          SERIES_DETECTORS,
          values.detector ?? SERIES_DETECTORS.map((d) => d.name).join(','),
        );
        const s = await loadSeriesCsv(input);
        let windows: AnomalyWindow[] | undefined;
        let labels = s.labels;
        if (values.windows) {
          const all = await loadWindowsJson(values.windows);
          const mine = all[name] ?? Object.entries(all).find(([k]) => k.endsWith(`/${name}`))?.[1];
          if (!mine) throw new EvaluationError(`${values.windows} has no windows for '${name}'`);
          windows = mine.map(([start, end]) => ({ start, end }));
          if (!labels) {
            labels = new Uint8Array(s.values.length);
            for (let i = 0; i < s.values.length; i++) {
              const t = s.timestamps[i];
              if (windows.some((w) => t >= w.start && t <= w.end)) labels[i] = 1;
            }
          }
        }
        if (!labels) throw new EvaluationError(`${name} has no label column: give --windows FILE`);
        results = evaluateSeries(name, s.timestamps, s.values, labels, detectors, { spec, windows });
      } else {
        const detectors = pickDetectors(
          TABULAR_DETECTORS,
          values.detector ?? TABULAR_DETECTORS.map((d) => d.name).join(','),
        );
        const { X, y } = await loadTabularCsv(input, { label: values.label });
        results = evaluateTabular(name, X, y, detectors, {
          seed,
          spec,
          onDetector: (d, i) =>
            process.stderr.write(`evaluate: ${d} (${i + 1}/${detectors.length}) on ${X.rows} rows\n`),
        });
      }
      const report = renderReport(results, format, `shelfwatch evaluation: ${name}`);
      if (values.out) {
        writeFileSync(values.out, report);
        process.stderr.write(`evaluate: ${format} report written to ${values.out}\n`);
      } else process.stdout.write(report);
      return 0;
    } catch (err) {
      if (err instanceof EvaluationError) throw new UsageError(err.message);
      throw err;
    }
  },
};

export const scoreSeriesCommand: Command = {
  name: 'score-series',
  summary:
    'score a timestamp,value CSV in order with a streaming detector → timestamp,value,anomaly_score,label',
  async run(argv) {
    const values = parseCommandArgs(
      argv,
      {
        input: { type: 'string' },
        out: { type: 'string' },
        detector: { type: 'string', default: DEFAULT_SERIES_DETECTOR },
      },
      SCORE_SERIES_HELP,
    );
    if (values === null) return 0;
    const input = checkInput(values.input, 'score-series');
    if (!values.out) throw new UsageError('score-series needs --out FILE');
    let detector: SeriesDetector;
    try {
      [detector] = pickDetectors(SERIES_DETECTORS, values.detector);
    } catch (err) {
      if (err instanceof EvaluationError) throw new UsageError(err.message);
      throw err;
    }
    const s = await loadSeriesCsv(input);
    const scores = scoreSeries(detector, s.values);
    const iso = s.timestamps.length > 0 && s.timestamps[0] > 1e11; // epoch ms from ISO input
    const lines = ['timestamp,value,anomaly_score,label'];
    for (let i = 0; i < s.values.length; i++) {
      const t = iso ? new Date(s.timestamps[i]).toISOString() : String(s.timestamps[i]);
      lines.push(`${t},${s.values[i]},${scores[i]},${s.labels ? s.labels[i] : 0}`);
    }
    writeFileSync(values.out, `${lines.join('\n')}\n`);
    process.stderr.write(
      `score-series: ${s.values.length} points scored with ${detector.name} → ${values.out}\n`,
    );
    return 0;
  },
};

/** `shelfwatch evaluate` and `shelfwatch score-series`: detectors scored on labelled data. */
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import {
  DatasetError,
  loadSeriesCsv,
  loadTabularCsv,
  loadWindowsJson,
  type SeriesDataset,
} from '../datasets/index.js';
import {
  type AnomalyWindow,
  COUNT_MODEL_DETECTOR,
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
  requireDataset,
  SERIES_DETECTORS,
  type SeriesDetector,
  scoreSeries,
  TABULAR_DETECTORS,
} from '../evaluation/index.js';
import { type CountModel, CountModelError, loadCountModel } from '../pipeline/detect/count-model.js';
import { integerFlag, parseCommandArgs, UsageError } from './args.js';
import type { Command } from './commands.js';
import { EVALUATE_HELP, SCORE_SERIES_HELP } from './help.js';

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
  if (!existsSync(path)) throw new UsageError(`--input ${path}: no such file or directory`);
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

/** Loads `--model FILE`, with errors that name the flag and the file; says on stderr what was loaded. */
function loadModelFlag(path: string): CountModel {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`--model ${path}: no such file or directory`);
    if (err instanceof SyntaxError) throw new UsageError(`--model ${path}: not JSON (${err.message})`);
    throw err;
  }
  try {
    const model = loadCountModel(json);
    const { features } = json as { features: string[] };
    process.stderr.write(
      `evaluate: loaded the count model ${path}: trained on ${model.trainedOn} rows (cycle counts), ` +
        `features ${features.join(', ')}; its alerts are the ${COUNT_MODEL_DETECTOR} row\n`,
    );
    return model;
  } catch (err) {
    if (err instanceof CountModelError) throw new UsageError(`--model ${path}: ${err.message}`);
    throw err;
  }
}

/** Replays a generated dataset through the stream job, with the count model of `--model` if given. */
async function evaluateStream(input: string, modelPath: string | undefined): Promise<DetectorEvaluation[]> {
  requireDataset(input, { labels: true }); // before any output: a missing file is named first
  const countModel = modelPath ? loadModelFlag(modelPath) : undefined;
  let judgeable = 0;
  process.stderr.write(
    `evaluate: replaying ${input} through the stream job's detectors${countModel ? ' and the count model' : ''}\n`,
  );
  const results = await evaluateInventoryDataset(
    input,
    undefined,
    countModel ? { countModel, onCountFeatures: () => judgeable++ } : undefined,
  );
  if (countModel) {
    const alerts = results.find((r) => r.detector === COUNT_MODEL_DETECTOR)?.windows?.alerts ?? 0;
    process.stderr.write(
      `evaluate: the count model raised ${alerts} alerts; of ${judgeable} cycle counts that could be judged, ` +
        `it scored those the count-gap rule let pass\n`,
    );
  }
  return results;
}

/** What to check when the labels hold one class only, by input kind. */
const ONE_CLASS_HINT = {
  stream: 'generate a dataset with anomalies (shelfwatch generate --anomaly-rate R)',
  series: 'labels come from its label column or --windows FILE',
  tabular: 'is --label COL the 0/1 label column?',
} as const;

export const evaluateCommand: Command = {
  name: 'evaluate',
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
        'min-pts': { type: 'string' },
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
    const minPts = values['min-pts'] === undefined ? undefined : integerFlag('min-pts', values['min-pts'], 0);
    if (minPts !== undefined && minPts < 2) {
      throw new UsageError(`--min-pts takes a whole number of at least 2, got '${values['min-pts']}'`);
    }
    try {
      const spec = parseThresholdSpec(values.threshold);
      const name = basename(input);
      let results: DetectorEvaluation[];
      let kind: keyof typeof ONE_CLASS_HINT;
      if (statSync(input).isDirectory() || input.endsWith('.ndjson')) {
        if (values.detector) {
          throw new EvaluationError(
            "a generated stream is scored with the stream job's own detectors: drop --detector",
          );
        }
        kind = 'stream';
        if (minPts !== undefined) throw new UsageError('--min-pts applies to DBSCAN on a tabular CSV');
        results = await evaluateStream(input, values.model);
      } else if (values.model) {
        throw new UsageError(
          `--model applies to a generated dataset folder (events.ndjson + labels.ndjson); ${input} is a CSV`,
        );
      } else if (isSeriesHeader(await firstLine(input))) {
        kind = 'series';
        if (minPts !== undefined) throw new UsageError('--min-pts applies to DBSCAN on a tabular CSV');
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
        kind = 'tabular';
        const detectors = pickDetectors(
          TABULAR_DETECTORS,
          values.detector ?? TABULAR_DETECTORS.map((d) => d.name).join(','),
        );
        const { X, y } = await loadTabularCsv(input, { label: values.label });
        results = evaluateTabular(name, X, y, detectors, {
          seed,
          spec,
          settings: { minPts },
          onDetector: (d, i) =>
            process.stderr.write(`evaluate: ${d} (${i + 1}/${detectors.length}) on ${X.rows} rows\n`),
        });
      }
      // The report says it too (a field in JSON); stderr says it where a pipe to a file would hide it.
      for (const w of new Set(results.flatMap((r) => r.warnings ?? []))) {
        process.stderr.write(`evaluate: warning: ${name}: ${w}; ${ONE_CLASS_HINT[kind]}\n`);
      }
      const report = renderReport(results, format, `shelfwatch evaluation: ${name}`);
      if (values.out) {
        writeFileSync(values.out, report);
        process.stderr.write(`evaluate: ${format} report written to ${values.out}\n`);
      } else process.stdout.write(report);
      return 0;
    } catch (err) {
      // Unusable input (a bad file, too few rows for a detector) is the user's to fix: exit 2.
      if (err instanceof EvaluationError || err instanceof DatasetError) throw new UsageError(err.message);
      throw err;
    }
  },
};

export const scoreSeriesCommand: Command = {
  name: 'score-series',
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
    let s: SeriesDataset;
    try {
      // Strict: a tabular `f0,f1,label` file must not pass for a series by column position.
      s = await loadSeriesCsv(input, { strictColumns: true });
    } catch (err) {
      if (err instanceof DatasetError) {
        throw new UsageError(
          `${err.message}. score-series scores one value column (timestamp,value[,label]); ` +
            'to score a table of feature columns use shelfwatch evaluate --input FILE',
        );
      }
      throw err;
    }
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

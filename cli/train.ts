/** `shelfwatch train`: fits the count model (an Isolation Forest) on a stream's history. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EvaluationError, replayEngine, replayNdjson, requireDataset } from '../evaluation/index.js';
import { COUNT_FEATURES, trainCountModel } from '../pipeline/detect/count-model.js';
import { integerFlag, numberFlag, parseCommandArgs, UsageError } from './args.js';
import type { Command } from './commands.js';
import { TRAIN_HELP } from './help.js';
import { compact, Progress } from './progress.js';

export const trainCommand: Command = {
  name: 'train',
  async run(argv) {
    const values = parseCommandArgs(
      argv,
      {
        input: { type: 'string' },
        out: { type: 'string' },
        seed: { type: 'string' },
        contamination: { type: 'string' },
        quiet: { type: 'boolean', default: false },
      },
      TRAIN_HELP,
    );
    if (values === null) return 0;
    if (!values.input || !values.out) throw new UsageError('train needs --input PATH and --out FILE');
    const seed = integerFlag('seed', values.seed, 1);
    const contamination = numberFlag('contamination', values.contamination, 0.02);
    if (!(contamination > 0 && contamination <= 0.5)) {
      throw new UsageError(`--contamination takes a number in (0, 0.5], got '${values.contamination}'`);
    }
    let events: string;
    try {
      // Training needs only the events: a folder without labels.ndjson is fine here.
      events = requireDataset(values.input, { labels: false }).events;
    } catch (err) {
      if (err instanceof EvaluationError) throw new UsageError(`--input ${err.message}`);
      throw err;
    }
    const cols = COUNT_FEATURES.length;
    let rows = new Float64Array(1024 * cols);
    let n = 0;
    const engine = replayEngine({
      models: {
        onCountFeatures: (x) => {
          if ((n + 1) * cols > rows.length) {
            const grown = new Float64Array(rows.length * 2);
            grown.set(rows);
            rows = grown;
          }
          rows.set(x, n * cols);
          n++;
        },
      },
    });
    const progress = new Progress('train', process.stderr, !values.quiet);
    await replayNdjson(engine, events, (records) =>
      progress.update(0, 0, `${compact(records)} records, ${n} counts`),
    );
    if (n < 10) {
      // A count is judged against the previous count of its series: short histories yield few.
      throw new UsageError(
        `${events} holds only ${n} cycle counts that can be judged (a series' second count on): at least 10 are needed; train on a longer history, e.g. shelfwatch generate --days 28`,
      );
    }
    const model = trainCountModel(rows.subarray(0, n * cols), { seed, contamination });
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(model)}\n`);
    progress.done(
      `count model trained on ${n} cycle counts (contamination ${contamination}) → ${values.out}`,
    );
    return 0;
  },
};

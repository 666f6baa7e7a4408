/** `shelfwatch train`: fits the count model (an Isolation Forest) on a stream's history. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { locateDataset, replayEngine, replayNdjson } from '../evaluation/index.js';
import { COUNT_FEATURES, trainCountModel } from '../pipeline/detect/count-model.js';
import { integerFlag, numberFlag, parseCommandArgs, UsageError } from './args.js';
import type { Command } from './commands.js';
import { compact, Progress } from './progress.js';

export const TRAIN_HELP = `Usage: shelfwatch train --input DIR|events.ndjson --out model.json [options]

Replays a stream's history through the job (in memory) and fits an Isolation Forest on its cycle counts:
${COUNT_FEATURES.join(', ')}.
shelfwatch run loads the model with detection.model (or SHELFWATCH_DETECTION__MODEL) and flags the counts
unlike that history which the count-gap rule lets pass.

Options:
  --input PATH          a folder written by shelfwatch generate, or an NDJSON file of raw records (required)
  --out FILE            where to write the model JSON (required)
  --seed N              seed of the forest (default 1)
  --contamination R     share of history counts taken as anomalous, sets the threshold (default 0.02)
  --quiet               no progress on stderr
  -h, --help            this help`;

export const trainCommand: Command = {
  name: 'train',
  summary: 'fit the count model (Isolation Forest) on a stream history, for shelfwatch run to load',
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
    const events =
      locateDataset(values.input)?.events ?? (values.input.endsWith('.ndjson') ? values.input : undefined);
    if (!events)
      throw new UsageError(`--input ${values.input}: expected a generated dataset folder or an NDJSON file`);
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
    if (n < 10)
      throw new UsageError(`${events} holds only ${n} cycle counts that can be judged: too few to train on`);
    const model = trainCountModel(rows.subarray(0, n * cols), { seed, contamination });
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(model)}\n`);
    progress.done(
      `count model trained on ${n} cycle counts (contamination ${contamination}) → ${values.out}`,
    );
    return 0;
  },
};

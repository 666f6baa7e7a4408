/** `shelfwatch generate`: a seeded, labelled inventory stream written to a folder. */
import {
  DEFAULT_GENERATOR_OPTIONS,
  GeneratorOptionError,
  parseMix,
  resolveGeneratorOptions,
  writeDataset,
} from '../datasets/index.js';
import { integerFlag, numberFlag, parseCommandArgs, UsageError } from './args.js';
import type { Command } from './commands.js';
import { GENERATE_HELP } from './help.js';
import { compact, Progress } from './progress.js';

const d = DEFAULT_GENERATOR_OPTIONS;

export const generateCommand: Command = {
  name: 'generate',
  async run(argv) {
    const values = parseCommandArgs(
      argv,
      {
        out: { type: 'string' },
        seed: { type: 'string' },
        days: { type: 'string' },
        skus: { type: 'string' },
        warehouses: { type: 'string' },
        'anomaly-rate': { type: 'string' },
        mix: { type: 'string' },
        start: { type: 'string' },
        'duplicate-rate': { type: 'string' },
        'late-rate': { type: 'string' },
        'malformed-rate': { type: 'string' },
        quiet: { type: 'boolean', default: false },
      },
      GENERATE_HELP,
    );
    if (values === null) return 0;
    if (!values.out) throw new UsageError('generate needs --out DIR (see shelfwatch generate --help)');
    let options: Parameters<typeof writeDataset>[1];
    try {
      options = {
        seed: integerFlag('seed', values.seed, d.seed),
        days: integerFlag('days', values.days, d.days),
        skus: integerFlag('skus', values.skus, d.skus),
        warehouses: integerFlag('warehouses', values.warehouses, d.warehouses),
        anomalyRate: numberFlag('anomaly-rate', values['anomaly-rate'], d.anomalyRate),
        duplicateRate: numberFlag('duplicate-rate', values['duplicate-rate'], d.duplicateRate),
        lateRate: numberFlag('late-rate', values['late-rate'], d.lateRate),
        malformedRate: numberFlag('malformed-rate', values['malformed-rate'], d.malformedRate),
        start: values.start ?? d.start,
        mix: values.mix === undefined ? { ...d.mix } : parseMix(values.mix),
      };
      options = resolveGeneratorOptions(options);
    } catch (err) {
      if (err instanceof GeneratorOptionError) throw new UsageError(err.message);
      throw err;
    }
    const progress = new Progress('generate', process.stderr, !values.quiet);
    const started = Date.now();
    const manifest = await writeDataset(values.out, options, (p) => {
      const rate = p.records / Math.max(0.001, (Date.now() - started) / 1000);
      progress.update(
        p.day,
        p.days,
        `day ${p.day}/${p.days}, ${compact(p.records)} events, ${compact(rate)}/s`,
      );
    });
    const c = manifest.counts;
    progress.done(
      `${compact(c.records)} events (${compact(c.salesOrderEvents)} sales, ${compact(c.inventoryLogRows)} warehouse log, ${compact(
        c.supplierRecords,
      )} supplier), ${c.labels} labelled anomalies → ${values.out}`,
    );
    return 0;
  },
};

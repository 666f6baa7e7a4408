/** `shelfwatch generate`: a seeded, labelled inventory stream written to a folder. */
import {
  ANOMALY_TYPES,
  DEFAULT_GENERATOR_OPTIONS,
  GeneratorOptionError,
  parseMix,
  resolveGeneratorOptions,
  writeDataset,
} from '../datasets/index.js';
import { integerFlag, numberFlag, parseCommandArgs, UsageError } from './args.js';
import type { Command } from './commands.js';
import { compact, Progress } from './progress.js';

const d = DEFAULT_GENERATOR_OPTIONS;

export const HELP = `Usage: shelfwatch generate --out DIR [options]

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
                         types: ${ANOMALY_TYPES.join(', ')}
  --start ISO            start of the simulation (default ${d.start})
  --duplicate-rate R     records delivered twice, as at-least-once delivery does (default ${d.duplicateRate})
  --late-rate R          records arriving minutes to hours late (default ${d.lateRate})
  --malformed-rate R     records followed by an unparseable line (default ${d.malformedRate})
  --quiet                no progress on stderr
  -h, --help             this help

Volume is roughly 1,300 events per SKU × warehouse per 100 days at the default demand: for 10M events try
--skus 5000 --warehouses 3 --days 50.`;

export const generateCommand: Command = {
  name: 'generate',
  summary: 'write a seeded, labelled synthetic inventory stream (events, labels, manifest)',
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
      HELP,
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

/** `shelfwatch replay`: pushes a generated dataset (or any NDJSON of raw records) into Kinesis. */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createKinesisClient } from '../connectors/kinesis/client.js';
import { partitionKeysOf } from '../connectors/kinesis/partition.js';
import { aggregateByKey, type ProducerRecord, putRecords } from '../connectors/kinesis/producer.js';
import { numberFlag, parseCommandArgs, UsageError } from './args.js';
import type { Command } from './commands.js';
import { REPLAY_HELP } from './help.js';
import { compact, Progress } from './progress.js';

/**
 * `shelfwatch replay --to kinesis --stream NAME [--rate N] [--aggregate]`: puts a dataset's lines on a
 * stream, plain or KPL-aggregated (one partition key per aggregate), and reports user records and
 * Kinesis records.
 *
 * @example
 * ```ts
 * await replayCommand.run(['--input', 'data/demo', '--to', 'kinesis', '--stream', 'inventory', '--aggregate']);
 * ```
 */
export const replayCommand: Command = {
  name: 'replay',
  async run(argv) {
    const values = parseCommandArgs(
      argv,
      {
        input: { type: 'string' },
        to: { type: 'string' },
        stream: { type: 'string' },
        rate: { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        aggregate: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
      },
      REPLAY_HELP,
    );
    if (values === null) return 0;
    if (values.to !== 'kinesis') throw new UsageError(`--to takes kinesis, got '${values.to ?? ''}'`);
    if (!values.stream) throw new UsageError('replay needs --stream NAME');
    if (!values.input || !existsSync(values.input))
      throw new UsageError(`--input ${values.input ?? ''}: no such file or folder`);
    const file = statSync(values.input).isDirectory() ? join(values.input, 'events.ndjson') : values.input;
    if (!existsSync(file))
      throw new UsageError(`${file}: no such file (expected a folder written by shelfwatch generate)`);
    const rate = numberFlag('rate', values.rate, 0);
    if (rate < 0) throw new UsageError(`--rate takes a number ≥ 0, got '${values.rate}'`);
    const kinesis = createKinesisClient({
      ...(values.endpoint ? { endpoint: values.endpoint } : {}),
      ...(values.region ? { region: values.region } : {}),
    });
    const progress = new Progress('replay', process.stderr, !values.quiet);
    const aggregate = values.aggregate === true;
    const started = Date.now();
    let lines = 0;
    let kinesisRecords = 0;
    let retried = 0;
    let chunk: ProducerRecord[] = [];
    let chunkLines = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const r = await putRecords(kinesis, aggregate ? aggregateByKey(chunk) : chunk, {
        streamName: values.stream!,
      });
      lines += chunkLines;
      chunkLines = 0;
      kinesisRecords += r.sent;
      retried += r.retried;
      chunk = [];
      if (rate > 0) {
        // Keep the average at the rate: wait until the wall clock has caught up with what was sent.
        const due = started + (lines / rate) * 1000;
        if (due > Date.now()) await new Promise((res) => setTimeout(res, due - Date.now()));
      }
      const perSecond = lines / Math.max(0.001, (Date.now() - started) / 1000);
      progress.update(
        0,
        0,
        `${compact(lines)} records in ${compact(kinesisRecords)} Kinesis records, ${compact(perSecond)}/s, ${retried} retried`,
      );
    };
    // Plain: a tenth of a second's worth per flush (or one full call). Aggregated: more lines per flush,
    // so that each key gathers several of them per aggregate (half a second's worth at a rate, the way
    // the KPL lingers before it sends), at the cost of that much latency.
    const chunkSize = aggregate
      ? rate > 0
        ? Math.max(1, Math.min(10_000, Math.round(rate / 2)))
        : 10_000
      : rate > 0
        ? Math.max(1, Math.min(500, Math.round(rate / 10)))
        : 500;
    try {
      const rl = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
      for await (const line of rl) {
        if (line.trim() === '') continue;
        // One record per series of the line (an order of several items goes to each item's shard).
        const data = Buffer.from(line, 'utf8');
        for (const partitionKey of partitionKeysOf(line)) chunk.push({ partitionKey, data });
        chunkLines++;
        if (chunk.length >= chunkSize) await flush();
      }
      await flush();
    } finally {
      kinesis.destroy();
    }
    progress.done(
      `${lines} records in ${kinesisRecords} Kinesis records → kinesis stream ${values.stream} (${retried} retried)`,
    );
    return 0;
  },
};

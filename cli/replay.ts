/** `shelfwatch replay`: pushes a generated dataset (or any NDJSON of raw records) into Kinesis. */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createKinesisClient } from '../connectors/kinesis/client.js';
import { type ProducerRecord, partitionKeyOf, putRecords } from '../connectors/kinesis/producer.js';
import { numberFlag, parseCommandArgs, UsageError } from './args.js';
import type { Command } from './commands.js';
import { compact, Progress } from './progress.js';

export const REPLAY_HELP = `Usage: shelfwatch replay --input DIR|events.ndjson --to kinesis --stream NAME [options]

Puts raw records on a Kinesis stream with PutRecords (at most 500 records and 5 MiB per call; records the
service rejects are retried with back-off), partition key SKU × warehouse so that one item's events stay
in order on one shard. For demos and load tests.

Options:
  --input PATH       a folder written by shelfwatch generate, or an NDJSON file of raw records (required)
  --to kinesis       the destination (required; Kinesis is the only one)
  --stream NAME      the stream (required)
  --rate N           records per second (default 0: as fast as the stream takes them)
  --endpoint URL     a Kinesis endpoint (default: AWS_ENDPOINT_URL_KINESIS or AWS's own)
  --region R         the AWS region (default: AWS_REGION / the AWS configuration)
  --quiet            no progress on stderr
  -h, --help         this help

Credentials come from the standard AWS chain (environment, profile, instance role).`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'put a generated dataset on a Kinesis stream (PutRecords, SKU × warehouse partition keys)',
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
    const started = Date.now();
    let sent = 0;
    let retried = 0;
    let chunk: ProducerRecord[] = [];
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const r = await putRecords(kinesis, chunk, { streamName: values.stream! });
      sent += r.sent;
      retried += r.retried;
      chunk = [];
      if (rate > 0) {
        // Keep the average at the rate: wait until the wall clock has caught up with what was sent.
        const due = started + (sent / rate) * 1000;
        if (due > Date.now()) await new Promise((res) => setTimeout(res, due - Date.now()));
      }
      const perSecond = sent / Math.max(0.001, (Date.now() - started) / 1000);
      progress.update(0, 0, `${compact(sent)} records, ${compact(perSecond)}/s, ${retried} retried`);
    };
    const chunkSize = rate > 0 ? Math.max(1, Math.min(500, Math.round(rate / 10))) : 500;
    try {
      const rl = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
      for await (const line of rl) {
        if (line.trim() === '') continue;
        chunk.push({ partitionKey: partitionKeyOf(line), data: Buffer.from(line, 'utf8') });
        if (chunk.length >= chunkSize) await flush();
      }
      await flush();
    } finally {
      kinesis.destroy();
    }
    progress.done(`${sent} records → kinesis stream ${values.stream} (${retried} retried)`);
    return 0;
  },
};

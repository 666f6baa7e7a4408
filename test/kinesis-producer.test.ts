/** The producer against a real Kinesis stand-in (kinesalite, in process, on a free loopback port). */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type _Record,
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../connectors/kinesis/client.js';
import { partitionKeysOf } from '../connectors/kinesis/partition.js';
import { partitionKeyOf, putRecords } from '../connectors/kinesis/producer.js';
import { simulateInventory, writeDataset } from '../datasets/index.js';
import { deaggregate } from '../pipeline/decode.js';

const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
let endpoint = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Every record of every shard of a stream, from the start, each with its shard. */
async function readStream(
  kinesis: KinesisClient,
  StreamName: string,
): Promise<Array<{ shardId: string; records: _Record[] }>> {
  const out: Array<{ shardId: string; records: _Record[] }> = [];
  for (const shard of (await kinesis.send(new ListShardsCommand({ StreamName }))).Shards ?? []) {
    const shardId = shard.ShardId ?? '';
    const records: _Record[] = [];
    let iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({ StreamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    for (let empty = 0; iterator && empty < 2; ) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      if ((page.Records ?? []).length === 0) empty++;
      records.push(...(page.Records ?? []));
      iterator = page.NextShardIterator;
    }
    out.push({ shardId, records });
  }
  return out;
}

/** Runs the CLI in a child process (kinesalite answers from this one, so it must not block). */
async function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  };
  const root = new URL('..', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli/index.ts'), ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}

describe('putRecords on kinesalite', () => {
  it('puts every generated record, each item on one shard and in order', async () => {
    const kinesis = createKinesisClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const StreamName = 'inventory-test';
    await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 3 }));
    for (let i = 0; i < 50; i++) {
      const d = await kinesis.send(new DescribeStreamCommand({ StreamName }));
      if (d.StreamDescription?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const lines: string[] = [];
    for (const o of simulateInventory({ seed: 4, days: 2, skus: 8 }))
      if (o.type === 'record') lines.push(o.line);
    const records = lines.map((l) => ({ partitionKey: partitionKeyOf(l), data: Buffer.from(l) }));
    const r = await putRecords(kinesis, records, { streamName: StreamName });
    expect(r.sent).toBe(lines.length);

    const got: { key: string; line: string; shard: string }[] = [];
    const shards = await readStream(kinesis, StreamName);
    expect(shards).toHaveLength(3);
    for (const { shardId, records: recs } of shards)
      for (const rec of recs)
        got.push({
          key: rec.PartitionKey ?? '',
          line: Buffer.from(rec.Data ?? []).toString(),
          shard: shardId,
        });
    expect(got.map((g) => g.line).sort()).toEqual([...lines].sort());
    const shardOf = new Map<string, string>();
    for (const g of got) {
      expect(shardOf.get(g.key) ?? g.shard).toBe(g.shard);
      shardOf.set(g.key, g.shard);
    }
    // Per item, the shard keeps the order the records were put in.
    for (const key of shardOf.keys()) {
      const sentOrder = records.filter((x) => x.partitionKey === key).map((x) => x.data.toString());
      expect(got.filter((g) => g.key === key).map((g) => g.line)).toEqual(sentOrder);
    }
    kinesis.destroy();
  });

  it('shelfwatch replay puts a generated dataset on the stream', async () => {
    const kinesis = createKinesisClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const StreamName = 'inventory-replay';
    await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 2 }));
    const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-replay-'));
    try {
      const manifest = await writeDataset(dir, { seed: 6, days: 1, skus: 6 });
      const { code, stderr } = await cli([
        'replay',
        '--input',
        dir,
        '--to',
        'kinesis',
        '--stream',
        StreamName,
        '--endpoint',
        endpoint,
        '--quiet',
      ]);
      expect(code, stderr).toBe(0);
      let count = 0;
      for (const { records } of await readStream(kinesis, StreamName)) count += records.length;
      // One record per series of each line (an order of several items goes to each item's shard).
      const lines = readFileSync(join(dir, 'events.ndjson'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(manifest.counts.records);
      const copies = lines.reduce((n, l) => n + partitionKeysOf(l).length, 0);
      expect(copies).toBeGreaterThan(lines.length);
      expect(count).toBe(copies);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      kinesis.destroy();
    }
  });
  it('shelfwatch replay --aggregate: every line once, de-aggregated in order per key, in far fewer records', async () => {
    const kinesis = createKinesisClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const StreamName = 'inventory-aggregated';
    await kinesis.send(new CreateStreamCommand({ StreamName, ShardCount: 3 }));
    const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-replay-agg-'));
    try {
      const manifest = await writeDataset(dir, { seed: 9, days: 28, skus: 4 });
      const { code, stderr } = await cli([
        'replay',
        '--input',
        dir,
        '--to',
        'kinesis',
        '--stream',
        StreamName,
        '--endpoint',
        endpoint,
        '--aggregate',
      ]);
      expect(code, stderr).toBe(0);
      expect(stderr).toMatch(
        new RegExp(
          `${manifest.counts.records} records in \\d+ Kinesis records → kinesis stream ${StreamName}`,
        ),
      );
      const lines = readFileSync(join(dir, 'events.ndjson'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(manifest.counts.records);

      const shards = await readStream(kinesis, StreamName);
      let kinesisRecords = 0;
      const got: Array<{ key: string; line: string; shardId: string }> = [];
      for (const { shardId, records } of shards) {
        kinesisRecords += records.length;
        const { records: user, deadLetters } = deaggregate(shardId, records);
        expect(deadLetters).toEqual([]);
        // Stream order within a shard: sequence number, then sub-sequence number.
        for (let i = 1; i < user.length; i++) {
          const a = user[i - 1];
          const b = user[i];
          const before =
            BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ||
            (a.sequenceNumber === b.sequenceNumber && a.subSequenceNumber < b.subSequenceNumber);
          expect(before).toBe(true);
        }
        for (const u of user)
          got.push({ key: u.partitionKey, line: Buffer.from(u.data).toString(), shardId });
      }
      // Every line exactly once per series it carries.
      const pairs = (xs: Array<{ key: string; line: string }>) =>
        xs.map((x) => `${x.key}\u0000${x.line}`).sort();
      expect(pairs(got)).toEqual(
        pairs(lines.flatMap((line) => partitionKeysOf(line).map((key) => ({ key, line })))),
      );
      // Each key on one shard, in the order of the file.
      const shardOf = new Map<string, string>();
      for (const g of got) {
        expect(shardOf.get(g.key) ?? g.shardId).toBe(g.shardId);
        shardOf.set(g.key, g.shardId);
      }
      for (const key of shardOf.keys()) {
        expect(got.filter((g) => g.key === key).map((g) => g.line)).toEqual(
          lines.filter((l) => partitionKeysOf(l).includes(key)),
        );
      }
      expect(shardOf.size).toBeGreaterThan(3);
      // Aggregation: far fewer Kinesis records than lines.
      expect(kinesisRecords).toBeLessThan(lines.length / 10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      kinesis.destroy();
    }
  });
});

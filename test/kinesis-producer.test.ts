/** The producer against a real Kinesis stand-in (kinesalite, in process, on a free loopback port). */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../connectors/kinesis/client.js';
import { partitionKeyOf, putRecords } from '../connectors/kinesis/producer.js';
import { simulateInventory, writeDataset } from '../datasets/index.js';

const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
let endpoint = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

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
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName }))).Shards ?? [];
    expect(shards).toHaveLength(3);
    for (const shard of shards) {
      let iterator = (
        await kinesis.send(
          new GetShardIteratorCommand({
            StreamName,
            ShardId: shard.ShardId,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
        )
      ).ShardIterator;
      for (let empty = 0; iterator && empty < 2; ) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        const recs = page.Records ?? [];
        if (recs.length === 0) empty++;
        for (const rec of recs)
          got.push({
            key: rec.PartitionKey ?? '',
            line: Buffer.from(rec.Data ?? []).toString(),
            shard: shard.ShardId ?? '',
          });
        iterator = page.NextShardIterator;
      }
    }
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
      const env = {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
      };
      const root = new URL('..', import.meta.url).pathname;
      // Asynchronously: kinesalite answers from this process, so it must not block while the CLI runs.
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(root, 'cli/index.ts'),
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
        ],
        { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code, stderr).toBe(0);
      let count = 0;
      for (const shard of (await kinesis.send(new ListShardsCommand({ StreamName }))).Shards ?? []) {
        let iterator = (
          await kinesis.send(
            new GetShardIteratorCommand({
              StreamName,
              ShardId: shard.ShardId,
              ShardIteratorType: 'TRIM_HORIZON',
            }),
          )
        ).ShardIterator;
        for (let empty = 0; iterator && empty < 2; ) {
          const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
          if ((page.Records ?? []).length === 0) empty++;
          count += (page.Records ?? []).length;
          iterator = page.NextShardIterator;
        }
      }
      expect(count).toBe(manifest.counts.records);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      kinesis.destroy();
    }
  });
});

/**
 * The worker built from the run configuration tells the health observer which dependency fails: an
 * unreachable lease table is `lease table <applicationName>`, with the refused connection as cause.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeCause } from '../../pipeline/errors.js';
import type { DependencyObserver } from '../../pipeline/index.js';
import { createKinesisSource, type KinesisSourceConfig } from './from-config.js';

/** A loopback URL nothing listens on (a server's port, once that server closed). */
async function unreachable(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return `http://127.0.0.1:${port}`;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createKinesisSource', () => {
  it('passes the health observer on: an unreachable lease table is named, with its cause', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    const endpoint = await unreachable();
    const config: KinesisSourceConfig = {
      type: 'kinesis',
      stream: 'inventory',
      applicationName: 'shelfwatch-test',
      failoverTimeMs: 10_000,
      pollIntervalMs: 1_000,
      maxRecords: 10_000,
      initialPosition: 'TRIM_HORIZON',
      shardSyncIntervalMs: 60_000,
      region: 'us-east-1',
      endpoint,
      leaseTableEndpoint: endpoint,
    };
    const failed: Array<{ what: string; error: unknown }> = [];
    const health: DependencyObserver = {
      failed: (what, error) => failed.push({ what, error }),
      recovered: () => {},
    };
    const source = createKinesisSource(config, { loadCheckpoint: async () => null, health });
    const stop = new AbortController();
    const run = source.run(() => {
      throw new Error('no shard can be read without a lease table');
    }, stop.signal);
    const deadline = Date.now() + 20_000;
    while (failed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    await run;
    expect(failed[0]?.what).toBe('lease table shelfwatch-test');
    expect(describeCause(failed[0]?.error)).toContain('ECONNREFUSED');
  }, 30_000);
});

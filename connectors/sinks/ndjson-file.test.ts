import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeNotification } from '../../pipeline/alerts/testing.js';
import type { AlertNotification } from '../../pipeline/ports.js';
import { NdjsonFileSink } from './ndjson-file.js';
import { SinkConfigError, SinkDeliveryError } from './retry.js';

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelfwatch-ndjson-'));
  path = join(dir, 'alerts', 'out.ndjson');
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function lines(): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.split('\n').slice(0, -1);
}

const ids = async () => (await lines()).map((l) => (JSON.parse(l) as AlertNotification).id);

describe('NdjsonFileSink', () => {
  it('appends one JSON line per notification, creating the directory', async () => {
    const sink = new NdjsonFileSink({ path });
    const batch = [makeNotification('n1', ['a1', 'a2']), makeNotification('n2')];
    await sink.publish(batch);
    await sink.close();
    expect((await lines()).map((l) => JSON.parse(l))).toEqual(batch);
    expect(sink.name).toBe('file');
  });

  it('skips ids already in the file after a restart, and repeats within a batch', async () => {
    const first = new NdjsonFileSink({ path });
    await first.publish([makeNotification('n1'), makeNotification('n2')]);
    // A crash before the pipeline checkpointed: the new process replays the same notifications.
    const restarted = new NdjsonFileSink({ path });
    await restarted.publish([makeNotification('n1'), makeNotification('n3'), makeNotification('n3')]);
    await restarted.publish([makeNotification('n2'), makeNotification('n3'), makeNotification('n4')]);
    await restarted.close();
    await first.close();
    expect(await ids()).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  it('reads a large file line by line', async () => {
    const existing = Array.from({ length: 20_000 }, (_, i) =>
      JSON.stringify({ id: `old-${i}`, payload: 'x'.repeat(50) }),
    );
    const big = join(dir, 'big.ndjson');
    await writeFile(big, `${existing.join('\n')}\n`);
    const sink = new NdjsonFileSink({ path: big });
    await sink.publish([makeNotification('old-19999'), makeNotification('old-0'), makeNotification('new')]);
    await sink.close();
    const text = await readFile(big, 'utf8');
    expect(text.split('\n')).toHaveLength(20_002);
    expect(text.endsWith(`${JSON.stringify(makeNotification('new'))}\n`)).toBe(true);
  });

  it('cuts a torn last line (a crash mid-append) and keeps foreign lines', async () => {
    const good = JSON.stringify(makeNotification('n1'));
    await new NdjsonFileSink({ path }).publish([]); // creates the directory
    await writeFile(path, `${good}\nnot json, kept\n${good.slice(0, 40)}`);
    const sink = new NdjsonFileSink({ path });
    await sink.publish([makeNotification('n1'), makeNotification('n2')]);
    await sink.close();
    const text = await readFile(path, 'utf8');
    expect(text).toBe(`${good}\nnot json, kept\n${JSON.stringify(makeNotification('n2'))}\n`);
  });

  it('keeps a whole last line that only lost its newline, and does not repeat it', async () => {
    await new NdjsonFileSink({ path }).publish([]);
    await writeFile(path, JSON.stringify(makeNotification('n1')));
    const sink = new NdjsonFileSink({ path });
    await sink.publish([makeNotification('n1'), makeNotification('n2')]);
    await sink.close();
    expect(await ids()).toEqual(['n1', 'n2']);
  });

  it('fsyncs before publish resolves', async () => {
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const events: string[] = [];
    const original = proto.sync;
    vi.spyOn(proto, 'sync').mockImplementation(async function (this: unknown) {
      events.push('sync');
      return original.call(this);
    });
    const sink = new NdjsonFileSink({ path });
    await sink.publish([makeNotification('n1')]);
    events.push('resolved');
    await sink.publish([makeNotification('n1')]); // nothing new: nothing to sync
    events.push('resolved');
    await sink.close();
    expect(events.lastIndexOf('sync')).toBeLessThan(events.indexOf('resolved'));
    expect(events.filter((e) => e === 'sync').length).toBeGreaterThanOrEqual(1);
    expect(events.slice(-2)).toEqual(['resolved', 'resolved']);
  });

  it('reports a path that cannot be a file as a permanent SinkDeliveryError', async () => {
    const sink = new NdjsonFileSink({ path: dir, name: 'audit' });
    const err = await sink.publish([makeNotification('n1')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkDeliveryError);
    expect(err).toMatchObject({ sink: 'audit', retryable: false });
    expect((err as Error).message).toMatch(/^file sink "audit": cannot append to .*: EISDIR$/);
  });

  it('refuses publish after close, and an empty path', async () => {
    const sink = new NdjsonFileSink({ path });
    await sink.close();
    await expect(sink.publish([makeNotification('n1')])).rejects.toMatchObject({ retryable: false });
    expect(() => new NdjsonFileSink({ path: ' ' })).toThrow(SinkConfigError);
  });
});

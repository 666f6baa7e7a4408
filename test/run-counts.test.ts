/**
 * Issue 11, observation 8, as an operator sees it: nothing is skipped or set aside without a count or
 * a log line. `shelfwatch run` tails a file holding blank lines, repeats, a record dated 2099, an
 * over-long line and a late count beyond the series' memory; /metrics counts each and the log names them,
 * and `deadLetters.path` gets a copy of every dead letter.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMetric, startRun } from './run-job.js';
import { freePort } from './servers/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-run-counts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);
const wms = (id: string, txn: string, qty: number, t: number, sku = 'SKU-1'): string =>
  JSON.stringify({
    LOG_ID: id,
    TXN: txn,
    ITEM_NO: sku,
    LOC: 'WH-1',
    QTY: qty,
    UOM: 'EA',
    TXN_TIME: new Date(t).toISOString().replace('T', ' ').slice(0, 19),
  });

async function until(check: () => Promise<boolean>, what: string, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`waiting for ${what}\n${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('shelfwatch run counts what it sets aside', () => {
  it('blank lines, repeats, a future-dated record, an over-long line and a late count beyond memory', async () => {
    const moves = Array.from({ length: 9 }, (_, i) => wms(`A-${i}`, 'ADJ', -1, T0 + (i + 2) * HOUR));
    const lines = [
      wms('C-0', 'CC', 50, T0),
      '',
      '   ',
      ...moves,
      moves[3], // a repeat
      moves[4], // another
      wms('F-1', 'RCV', 5, Date.UTC(2099, 0, 1)),
      `{"pad":"${'x'.repeat(1_100_000)}"}`,
      wms('C-1', 'CC', 40, T0 + HOUR), // late, and 9 movements after it: beyond the 8 remembered
      '',
    ];
    const events = join(dir, 'events.ndjson');
    writeFileSync(events, `${lines.join('\n')}\n`);
    const port = await freePort();
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      [
        `source: { type: file, path: ${events}, follow: true }`,
        `store: { type: sqlite, path: ${join(dir, 'state.db')} }`,
        `deadLetters: { path: ${join(dir, 'dead-letters.ndjson')} }`,
        'batch: { maxWaitMs: 10 }',
        `metrics: { port: ${port} }`,
      ].join('\n'),
    );
    const job = startRun(config);
    const { child } = job;
    try {
      await until(
        async () => (await readMetric(port, 'shelfwatch_events_total')) >= 11,
        'every record to be processed',
        child,
        job.log,
      );
      expect(await readMetric(port, 'shelfwatch_blank_lines_total')).toBe(3);
      expect(await readMetric(port, 'shelfwatch_duplicates_total')).toBe(2);
      expect(await readMetric(port, 'shelfwatch_dead_letters_total{code="future_event"}')).toBe(1);
      expect(await readMetric(port, 'shelfwatch_dead_letters_total{code="too_large"}')).toBe(1);
      expect(job.log()).toContain('"code":"future_event"');
      expect(job.log()).toContain('late cycle count: the series no longer remembers every movement after it');
      expect(job.log()).toContain('"eventId":"wms:C-1"');
      // deadLetters.path holds what the store holds (the file is written before each batch commits).
      const copies = readFileSync(join(dir, 'dead-letters.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { code: string; sequenceNumber: string });
      expect(copies.map((c) => c.code).sort()).toEqual(['future_event', 'too_large']);
    } finally {
      child.kill('SIGTERM');
      await job.exit;
    }
  });
});

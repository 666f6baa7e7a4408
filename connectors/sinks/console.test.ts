import { describe, expect, it, vi } from 'vitest';
import { makeAnomaly, makeNotification } from '../../pipeline/alerts/testing.js';
import type { AlertNotification } from '../../pipeline/ports.js';
import { ConsoleSink, type ConsoleSinkStream, consoleBlock, formatNotification } from './console.js';
import { SinkDeliveryError } from './retry.js';

function capture(isTTY?: boolean): ConsoleSinkStream & { text: () => string; writes: number } {
  const chunks: string[] = [];
  const stream = {
    isTTY,
    writes: 0,
    write(chunk: string, callback: (error?: Error | null) => void) {
      chunks.push(chunk);
      stream.writes++;
      callback();
      return true;
    },
    text: () => chunks.join(''),
  };
  return stream;
}

const ESC = '\x1b';

describe('ConsoleSink', () => {
  it('prints what, where, how sure and why, with the event ids, and no ANSI codes when color is off', async () => {
    const stream = capture(true);
    const sink = new ConsoleSink({ stream, color: false });
    const n = makeNotification('notif-1', ['a1', 'a2'], 4);
    n.anomalies[1] = { ...n.anomalies[1], sku: 'SKU-2', eventIds: ['ev-9', 'ev-10'] };
    await sink.publish([n]);
    const out = stream.text();
    expect(out).not.toContain(ESC);
    expect(out).toContain('■ CRITICAL Shrinkage: stock missing against the book');
    expect(out).toContain('Where: warehouse WH1 · 2 anomalies on 2 SKUs');
    expect(out).toContain('Also: 4 more held back by the rate limit');
    expect(out).toContain(
      'SKU SKU-1 · 91% sure · critical · detected 2026-01-05 00:00:00 UTC · rule:count-gap',
    );
    expect(out).toContain('Why: Cycle count found 40 units where the book said 52');
    expect(out).toContain('count_gap: observed -12, expected 0 (70% of the score)');
    expect(out).toContain('on_hand: observed 40, expected 52 (20% of the score)');
    expect(out).toContain('sales_rate: observed 3.25, expected 3.1');
    expect(out).toContain('Events: ev-a1 · anomaly a1');
    expect(out).toContain('Events: ev-9, ev-10 · anomaly a2');
    expect(out).toContain('notification notif-1 · group WH1|shrinkage');
  });

  it('colours by severity when asked, and by default on a terminal unless NO_COLOR is set', async () => {
    const colored = formatNotification(makeNotification('n'), { color: true });
    expect(colored).toContain(`${ESC}[31m${ESC}[1m■ CRITICAL`);
    vi.stubEnv('NO_COLOR', '');
    try {
      const tty = capture(true);
      await new ConsoleSink({ stream: tty }).publish([makeNotification('n')]);
      expect(tty.text()).toContain(ESC);
      const pipe = capture(false);
      await new ConsoleSink({ stream: pipe }).publish([makeNotification('n')]);
      expect(pipe.text()).not.toContain(ESC);
      vi.stubEnv('NO_COLOR', '1');
      const noColor = capture(true);
      await new ConsoleSink({ stream: noColor }).publish([makeNotification('n')]);
      expect(noColor.text()).not.toContain(ESC);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('sets each notification apart from log lines: a blank line and a rule, bold and coloured on a terminal', async () => {
    const stream = capture(false);
    await new ConsoleSink({ stream, color: false }).publish([makeNotification('n1'), makeNotification('n2')]);
    const out = stream.text();
    const rule = `━━ shelfwatch alert ${'━'.repeat(52)}`;
    expect(out.startsWith(`\n${rule}\n■ CRITICAL Shrinkage`)).toBe(true);
    expect(out.split(`\n\n${rule}\n`)).toHaveLength(2);
    expect(consoleBlock(makeNotification('n'), { color: false })).toBe(
      `\n${rule}\n${formatNotification(makeNotification('n'), { color: false })}`,
    );
    expect(consoleBlock(makeNotification('n'), { color: true })).toContain(
      `${ESC}[31m${ESC}[1m${rule}${ESC}[0m`,
    );
  });

  it('prints a rate-limit summary as a count', () => {
    const summary: AlertNotification = {
      ...makeNotification('s'),
      severity: 'warning',
      anomalies: [],
      suppressed: 3,
    };
    const out = formatNotification(summary, { color: false });
    expect(out).toContain('■ WARNING Shrinkage');
    expect(out).toContain('Summary: 3 anomalies were held back by the rate limit');
  });

  it('shows the top three features, stated contributions first, then in the detector’s order, and caps long event lists', () => {
    const a = makeAnomaly({
      id: 'a',
      eventIds: Array.from({ length: 12 }, (_, i) => `e${i}`),
      explanation: {
        summary: 's',
        features: [
          { name: 'small', observed: 10, expected: 9 },
          { name: 'big', observed: 100, expected: 9 },
          { name: 'stated', observed: 1, expected: 1, contribution: 0.1 },
          { name: 'medium', observed: 20, expected: 9 },
        ],
      },
    });
    const out = formatNotification({ ...makeNotification('n'), anomalies: [a] }, { color: false });
    const shown = [...out.matchAll(/^ {6}(\w+):/gm)].map((m) => m[1]);
    expect(shown).toEqual(['stated', 'small', 'big']);
    expect(out).toContain('Events: e0, e1, e2, e3, e4, e5, e6, e7 and 4 more');
  });

  it('replaces control characters from data so that they cannot drive the terminal', async () => {
    const stream = capture();
    const n = makeNotification('n');
    n.anomalies[0] = {
      ...n.anomalies[0],
      sku: `${ESC}[2J`,
      explanation: { summary: `bad${ESC}]0;x\x07`, features: [] },
    };
    await new ConsoleSink({ stream, color: false }).publish([n]);
    expect(stream.text()).not.toContain(ESC);
    expect(stream.text()).not.toContain('\x07');
  });

  it('prints an id once, within a batch and across retries', async () => {
    const stream = capture();
    const sink = new ConsoleSink({ stream, color: false });
    await sink.publish([makeNotification('n1'), makeNotification('n1')]);
    await sink.publish([makeNotification('n1'), makeNotification('n2')]);
    expect(stream.text().match(/notification n1 /g)).toHaveLength(1);
    expect(stream.text().match(/notification n2 /g)).toHaveLength(1);
    expect(stream.writes).toBe(2);
  });

  it('rejects with a SinkDeliveryError when the stream fails, and prints the block again on retry', async () => {
    let fail = true;
    const chunks: string[] = [];
    const stream: ConsoleSinkStream = {
      write(chunk, callback) {
        if (fail) callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        else {
          chunks.push(chunk);
          callback();
        }
        return true;
      },
    };
    const sink = new ConsoleSink({ stream, color: false });
    const err = await sink.publish([makeNotification('n1')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkDeliveryError);
    expect(err).toMatchObject({ sink: 'console', retryable: false });
    fail = false;
    await sink.publish([makeNotification('n1')]);
    expect(chunks.join('')).toContain('notification n1');
  });

  it('writes to standard output by default', () => {
    expect(new ConsoleSink().name).toBe('console');
    expect(new ConsoleSink({ name: 'ops-console', stream: process.stderr }).name).toBe('ops-console');
  });
});

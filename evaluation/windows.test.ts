import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetricError } from './errors.js';
import { type AnomalyWindow, evaluateWindows } from './windows.js';

describe('evaluateWindows', () => {
  it('counts alerts exactly on the start and on the end as inside', () => {
    const r = evaluateWindows(
      [
        { start: 10, end: 20 },
        { start: 30, end: 40 },
      ],
      [10, 40],
    );
    expect(r.found).toBe(2);
    expect(r.delays).toEqual([0, 10]);
    expect(r.truePositiveAlerts).toBe(2);
    expect(r.falseAlerts).toBe(0);
  });

  it('treats alerts just outside as false alerts', () => {
    const r = evaluateWindows([{ start: 10, end: 20 }], [9.999, 20.001]);
    expect(r.found).toBe(0);
    expect(r.falseAlerts).toBe(2);
    expect(r.alertPrecision).toBe(0);
    expect(r.meanDelay).toBeNull();
    expect(r.medianDelay).toBeNull();
  });

  it('computes delays, recall, precision and the per-type breakdown', () => {
    const windows: AnomalyWindow[] = [
      { start: 100, end: 200, type: 'spike', id: 'a' },
      { start: 300, end: 400, type: 'drift', id: 'b' },
      { start: 500, end: 600, type: 'spike', id: 'c' },
      { start: 700, end: 800 },
    ];
    // Unsorted alerts with a duplicate: 150 and 120 in window a (first 120), 390 in b, 750 in the
    // untyped window, 50 and 650 outside.
    const r = evaluateWindows(windows, [650, 150, 390, 120, 50, 750, 750]);
    expect(r.windows).toBe(4);
    expect(r.found).toBe(3);
    expect(r.windowRecall).toBe(0.75);
    expect(r.alerts).toBe(7);
    expect(r.truePositiveAlerts).toBe(5);
    expect(r.falseAlerts).toBe(2);
    expect(r.alertPrecision).toBeCloseTo(5 / 7, 15);
    expect(r.delays).toEqual([20, 90, 50]);
    expect(r.meanDelay).toBeCloseTo(160 / 3, 12);
    expect(r.medianDelay).toBe(50);
    expect(r.perType).toEqual({
      drift: { windows: 1, found: 1, recall: 1, meanDelay: 90 },
      spike: { windows: 2, found: 1, recall: 0.5, meanDelay: 20 },
    });
    expect(r.perWindow[0]).toEqual({
      start: 100,
      end: 200,
      type: 'spike',
      id: 'a',
      found: true,
      firstAlert: 120,
      delay: 20,
    });
    expect(r.perWindow[2]).toMatchObject({ id: 'c', found: false, firstAlert: null, delay: null });
  });

  it('counts an alert in overlapping windows once, and finds both windows', () => {
    const r = evaluateWindows(
      [
        { start: 0, end: 10 },
        { start: 5, end: 15 },
      ],
      [7],
    );
    expect(r.found).toBe(2);
    expect(r.delays).toEqual([7, 2]);
    expect(r.truePositiveAlerts).toBe(1);
    expect(r.medianDelay).toBe(4.5);
  });

  it('handles no windows and no alerts (zero-division convention: 0)', () => {
    expect(evaluateWindows([], [1, 2])).toMatchObject({ windows: 0, windowRecall: 0, falseAlerts: 2 });
    expect(evaluateWindows([{ start: 0, end: 1 }], [])).toMatchObject({
      found: 0,
      alerts: 0,
      alertPrecision: 0,
    });
  });

  it('agrees with a brute-force evaluation', () => {
    const windowArb = fc
      .tuple(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 20 }),
        fc.constantFrom('x', 'y', undefined),
      )
      .map(([start, len, type]) => ({ start, end: start + len, ...(type ? { type } : {}) }));
    fc.assert(
      fc.property(
        fc.array(windowArb, { maxLength: 12 }),
        fc.array(fc.integer({ min: -5, max: 125 }), { maxLength: 40 }),
        (windows, alerts) => {
          const r = evaluateWindows(windows, alerts);
          const inside = (t: number, w: { start: number; end: number }) => w.start <= t && t <= w.end;
          const delays: number[] = [];
          for (const w of windows) {
            const hits = alerts.filter((t) => inside(t, w));
            if (hits.length > 0) delays.push(Math.min(...hits) - w.start);
          }
          expect(r.delays).toEqual(delays);
          expect(r.found).toBe(delays.length);
          expect(r.truePositiveAlerts).toBe(alerts.filter((t) => windows.some((w) => inside(t, w))).length);
          expect(r.truePositiveAlerts + r.falseAlerts).toBe(alerts.length);
          for (const [type, stats] of Object.entries(r.perType)) {
            expect(stats.windows).toBe(windows.filter((w) => w.type === type).length);
          }
        },
      ),
    );
  });

  it('rejects bad windows and alert times by name', () => {
    expect(() => evaluateWindows([{ start: 5, end: 1 }], [])).toThrow(
      /windows\[0\] starts at 5, after its end 1/,
    );
    expect(() => evaluateWindows([{ start: Number.NaN, end: 1 }], [])).toThrow(/windows\[0\]\.start is NaN/);
    expect(() => evaluateWindows([], [1, Number.NaN])).toThrow(/alertTimes\[1\] is NaN/);
    expect(() => evaluateWindows([], [1, Number.NaN])).toThrow(MetricError);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../datasets/index.js';
import { evaluateInventoryDataset, evaluateKeyedWindows, locateDataset } from './inventory-stream.js';
import { evaluateWindows } from './windows.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-evalstream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('evaluateKeyedWindows', () => {
  it('finds a window only with an alert on its own series', () => {
    const r = evaluateKeyedWindows(
      [{ key: 'a', start: 0, end: 10, type: 'shrinkage' }],
      [
        { key: 'b', time: 5 },
        { key: 'a', time: 12 },
      ],
    );
    expect(r.found).toBe(0);
    expect(r.falseAlerts).toBe(2);
    const hit = evaluateKeyedWindows(
      [{ key: 'a', start: 0, end: 10, type: 'shrinkage' }],
      [{ key: 'a', time: 4 }],
    );
    expect(hit).toMatchObject({ found: 1, truePositiveAlerts: 1, falseAlerts: 0, delays: [4] });
    expect(hit.perType.shrinkage).toEqual({ windows: 1, found: 1, recall: 1, meanDelay: 4 });
  });

  it('equals plain window evaluation when every window and alert is on one series (property)', () => {
    const win = fc
      .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 20 }))
      .map(([s, len]) => ({ start: s, end: s + len, type: 't' }));
    fc.assert(
      fc.property(
        fc.array(win, { maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 130 }), { maxLength: 20 }),
        (ws, ts) => {
          const plain = evaluateWindows(ws, ts);
          const keyed = evaluateKeyedWindows(
            ws.map((w) => ({ ...w, key: 'k' })),
            ts.map((time) => ({ key: 'k', time })),
          );
          expect(keyed.found).toBe(plain.found);
          expect(keyed.falseAlerts).toBe(plain.falseAlerts);
          expect(keyed.truePositiveAlerts).toBe(plain.truePositiveAlerts);
          expect([...keyed.delays].sort()).toEqual([...plain.delays].sort());
        },
      ),
    );
  });
});

describe('evaluateInventoryDataset', () => {
  it('replays a generated dataset through the stream job and finds most labelled windows', async () => {
    const out = join(dir, 'ds');
    await writeDataset(out, { seed: 9, skus: 60, days: 14, anomalyRate: 0.02 });
    expect(locateDataset(out)?.events).toBe(join(out, 'events.ndjson'));
    const [pipeline, ...families] = await evaluateInventoryDataset(out);
    expect(pipeline.detector).toBe('pipeline');
    expect(families.length).toBeGreaterThan(3);
    expect(pipeline.windows!.windows).toBeGreaterThan(10);
    expect(pipeline.windows!.windowRecall).toBeGreaterThan(0.6);
    expect(pipeline.windows!.alertPrecision).toBeGreaterThan(0.6);
    expect(pipeline.precision).toBeGreaterThan(0.5);
    const total = families.reduce((s, f) => s + f.windows!.alerts, 0);
    expect(total).toBe(pipeline.windows!.alerts);
    const byType = Object.values(pipeline.alertsByType ?? {});
    expect(byType.reduce((s, t) => s + t.alerts, 0)).toBe(pipeline.windows!.alerts);
    expect(byType.reduce((s, t) => s + t.inWindow, 0)).toBe(pipeline.windows!.truePositiveAlerts);
  });

  it('says what it expected when the input is not a dataset', async () => {
    await expect(evaluateInventoryDataset(join(dir, 'nowhere'))).rejects.toThrow(
      /expected a generated dataset/,
    );
  });
});

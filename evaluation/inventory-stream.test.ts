import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../datasets/index.js';
import { EvaluationError } from './errors.js';
import {
  evaluateInventoryDataset,
  evaluateKeyedWindows,
  locateDataset,
  requireDataset,
} from './inventory-stream.js';
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
      /nowhere: no such file or directory/,
    );
  });
});

describe('requireDataset', () => {
  it('names the missing file by its full path, labels only when they are needed', () => {
    const folder = join(dir, 'no-labels');
    mkdirSync(folder, { recursive: true });
    const fail = (input: string, labels: boolean): string => {
      try {
        requireDataset(input, { labels });
      } catch (err) {
        expect(err).toBeInstanceOf(EvaluationError);
        return (err as Error).message;
      }
      throw new Error(`${input} passed`);
    };
    expect(fail(folder, true)).toContain(`no events.ndjson: ${join(folder, 'events.ndjson')} does not exist`);
    writeFileSync(join(folder, 'events.ndjson'), '');
    expect(fail(folder, true)).toContain(`no labels.ndjson: ${join(folder, 'labels.ndjson')} does not exist`);
    expect(fail(join(folder, 'events.ndjson'), true)).toContain(join(folder, 'labels.ndjson'));
    expect(requireDataset(folder, { labels: false }).events).toBe(join(folder, 'events.ndjson'));
    copyFileSync(join(folder, 'events.ndjson'), join(folder, 'labels.ndjson'));
    expect(requireDataset(folder, { labels: true }).labels).toBe(join(folder, 'labels.ndjson'));
    expect(fail(join(dir, 'nowhere'), false)).toBe(`${join(dir, 'nowhere')}: no such file or directory`);
    writeFileSync(join(dir, 'table.csv'), 'f0,label\n');
    expect(fail(join(dir, 'table.csv'), false)).toMatch(
      /expected a dataset folder or an events \.ndjson file/,
    );
  });
});

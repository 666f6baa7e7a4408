/**
 * Which streaming detector `score-series` uses by default: both are run over the hourly units-sold
 * series of every item with a labelled sales spike in generated data (3 seeds), hours inside the
 * spike's window labelled 1.
 */
import { simulateInventory } from '../datasets/index.js';
import { averagePrecision, rocAuc, SERIES_DETECTORS, scoreSeries } from '../evaluation/index.js';
import { type BenchRow, progress } from './harness.js';

const HOUR = 3_600_000;

export async function benchSeriesDetectors(seeds: readonly number[]): Promise<BenchRow[]> {
  const aucs = new Map<string, number[]>();
  const aps = new Map<string, number[]>();
  for (const seed of seeds) {
    progress(`series detectors: generated seed ${seed}`);
    const lines: string[] = [];
    const spikes: { key: string; start: number; end: number }[] = [];
    for (const o of simulateInventory({ seed })) {
      if (o.type === 'record') lines.push(o.line);
      else if (o.type === 'label' && o.label.type === 'sales_spike') {
        spikes.push({
          key: `${o.label.sku}|${o.label.warehouse}`,
          start: Date.parse(o.label.start),
          end: Date.parse(o.label.end),
        });
      }
    }
    const start = Date.parse('2026-01-05T00:00:00Z');
    const hours = 28 * 24;
    const series = new Map(spikes.map((s) => [s.key, new Float64Array(hours)]));
    for (const line of lines) {
      if (!line.startsWith('{"event":"order.placed"')) continue;
      let r: { occurredAt: number; fulfillmentCenter: string; items: { sku: string; quantity: number }[] };
      try {
        r = JSON.parse(line);
      } catch {
        continue;
      }
      const h = Math.floor((r.occurredAt - start) / HOUR);
      for (const it of r.items) {
        const v = series.get(`${it.sku}|${r.fulfillmentCenter}`);
        if (v && h >= 0 && h < hours) v[h] += it.quantity;
      }
    }
    for (const s of spikes) {
      const y = new Uint8Array(hours);
      for (let h = Math.floor((s.start - start) / HOUR); h <= Math.floor((s.end - start) / HOUR); h++)
        y[h] = 1;
      for (const d of SERIES_DETECTORS) {
        const scores = scoreSeries(d, series.get(s.key)!);
        aucs.set(d.name, [...(aucs.get(d.name) ?? []), rocAuc(y, scores)]);
        aps.set(d.name, [...(aps.get(d.name) ?? []), averagePrecision(y, scores)]);
      }
    }
  }
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  return SERIES_DETECTORS.map((d) => ({
    suite: 'series detectors',
    case: `hourly units sold, ${aucs.get(d.name)?.length ?? 0} spike series, seeds ${seeds.join(',')}`,
    metric: `${d.name}: mean ROC-AUC (mean AP ${mean(aps.get(d.name) ?? [0]).toFixed(3)})`,
    unit: '',
    ours: mean(aucs.get(d.name) ?? [0]),
  }));
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DetectorEvaluation, renderReport, thinCurve, toJsonRecord } from './report.js';

function result(detector: string, extra: Partial<DetectorEvaluation> = {}): DetectorEvaluation {
  return {
    detector,
    dataset: 'mammography.csv',
    n: 100,
    positives: 10,
    threshold: 0.55,
    thresholdRule: 'auto',
    optimistic: false,
    confusionMatrix: { tp: 6, fp: 4, tn: 86, fn: 4 },
    precision: 0.6,
    recall: 0.6,
    f1: 0.6,
    rocAuc: 0.875,
    averagePrecision: 0.5,
    seconds: 0.12,
    curves: {
      roc: { x: Float64Array.from([0, 0.5, 1]), y: Float64Array.from([0, 0.9, 1]) },
      pr: { x: Float64Array.from([0, 0.5, 1]), y: Float64Array.from([1, 0.7, 0.1]) },
    },
    ...extra,
  };
}

describe('renderReport', () => {
  it('prints one JSON object per detector with the contract fields and no curves', () => {
    const out = renderReport([result('iforest'), result('dbscan')], 'json');
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]) as Record<string, unknown>;
    for (const key of [
      'n',
      'threshold',
      'confusionMatrix',
      'precision',
      'recall',
      'f1',
      'rocAuc',
      'averagePrecision',
    ]) {
      expect(first).toHaveProperty(key);
    }
    expect(first.confusionMatrix).toEqual({ tp: 6, fp: 4, tn: 86, fn: 4 });
    expect(first).not.toHaveProperty('curves');
    expect(JSON.parse(lines[1]).detector).toBe('dbscan');
  });

  it('renders text and markdown tables with every detector and per-type recall', () => {
    const r = result('iforest', { perType: { shrinkage: { total: 4, detected: 3, recall: 0.75 } } });
    const text = renderReport([r], 'text');
    expect(text).toMatch(/iforest\s+mammography\.csv\s+100/);
    expect(text).toContain('shrinkage');
    expect(text).toContain('75.0% (3/4)');
    const md = renderReport([r, result('zscore')], 'markdown');
    expect(md).toContain('| detector | dataset |');
    expect(md).toContain('| zscore |');
  });

  it('renders a self-contained HTML page with both curves and the confusion matrices', () => {
    const html = renderReport(
      [result('iforest'), result('dbscan', { optimistic: true, thresholdRule: 'best-f1' })],
      'html',
      'ODDS <test>',
    );
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('ROC curve');
    expect(html).toContain('Precision–recall curve');
    expect(html.match(/<polyline/g)).toHaveLength(4);
    expect(html).toContain('ODDS &#60;test&#62;'); // escaped
    expect(html).toContain('optimistic');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it('shows stream-window results and delays when present', () => {
    const r = result('pipeline', {
      windows: {
        windows: 10,
        found: 8,
        windowRecall: 0.8,
        alerts: 12,
        truePositiveAlerts: 10,
        falseAlerts: 2,
        alertPrecision: 10 / 12,
        delays: [90_000],
        meanDelay: 90_000,
        medianDelay: 5_400_000,
        perType: { sales_spike: { windows: 4, found: 4, recall: 1, meanDelay: 30_000 } },
        perWindow: [],
      },
    });
    const text = renderReport([r], 'text');
    expect(text).toContain('80.0% (8/10)');
    expect(text).toContain('2 min');
    expect(text).toContain('1.5 h');
    // Text cells are short (the caption says the second figure is the mean delay); Markdown spells it out.
    expect(text).toContain('100.0% (4/4) 30 s');
    expect(renderReport([r], 'markdown')).toContain('100.0% (4/4, delay 30 s)');
    expect(toJsonRecord(r).windows?.found).toBe(8);
    expect(renderReport([r], 'text')).toContain('83.3% (10/12)');
  });

  it('fits the recall-by-type table of many detectors and types into 100 columns, losing no cell', () => {
    const types = [
      'shrinkage',
      'phantom_stock',
      'negative_stock',
      'stuck_feed',
      'sales_spike',
      'data_entry_error',
      'supplier_short_shipment',
      'supplier_price_anomaly',
    ];
    const detectors = [
      'pipeline',
      'iforest:count',
      'robust-zscore:count-gap',
      'robust-zscore:data-entry',
      'dbscan:supplier-deliveries',
      'rule:fill-rate',
      'rule:sales-rate',
      'rule:negative-stock',
      'rule:repeated-count',
      'rule:price-band',
    ];
    const results = detectors.map((d, k) =>
      result(d, {
        windows: {
          windows: 800,
          found: 400,
          windowRecall: 0.5,
          alerts: 500,
          truePositiveAlerts: 400,
          falseAlerts: 100,
          alertPrecision: 0.8,
          delays: [],
          meanDelay: 3_600_000,
          medianDelay: 3_600_000,
          perType: Object.fromEntries(
            types.map((t, i) => [
              t,
              {
                windows: 100,
                found: (i * 7 + k) % 101,
                recall: ((i * 7 + k) % 101) / 100,
                meanDelay: 45_000_000,
              },
            ]),
          ),
          perWindow: [],
        },
      }),
    );
    const text = renderReport(results, 'text');
    const section = text.slice(text.indexOf('Recall by anomaly type'));
    const lines = section.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
    // Every type on every block; every detector's column somewhere (a family:name header may be split).
    const blocks = section.split('\n\n');
    expect(blocks.length).toBeGreaterThan(1);
    for (const b of blocks) for (const t of types) expect(b).toMatch(new RegExp(`^${t}\\s`, 'm'));
    const heads = blocks.map((b) => b.split('\n').slice(0, 3).join(' ')).join(' ');
    for (const d of detectors) {
      const [family, name] = d.includes(':') ? d.split(':') : [d, ''];
      expect(heads).toContain(name ? `${family}:` : family);
      if (name) expect(heads).toContain(name);
    }
    for (const [k, d] of detectors.entries()) {
      const found = (2 * 7 + k) % 101;
      expect(section, d).toContain(`${found.toFixed(1)}% (${found}/100) 12.5 h`);
    }
    // Whole lines, not cut cells: each block's rows have the type and one cell per column.
    const cells = section.match(/\d+\.\d% \(\d+\/100\) 12\.5 h/g) ?? [];
    expect(cells).toHaveLength(types.length * detectors.length);
  });
});

describe('thinCurve', () => {
  it('keeps the ends and at most max points (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 3000 }), fc.integer({ min: 2, max: 500 }), (n, max) => {
        const x = Float64Array.from({ length: n }, (_, i) => i / (n - 1));
        const t = thinCurve(x, x, max);
        expect(t.x.length).toBe(Math.min(n, max));
        expect(t.x[0]).toBe(0);
        expect(t.x[t.x.length - 1]).toBe(1);
      }),
    );
  });
});

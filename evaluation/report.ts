/**
 * Renders evaluation results as text (terminal), Markdown (READMEs, PRs), JSON (tools: one object per
 * detector per line) and a self-contained HTML page (a manager opens it; no script, no network).
 */

import type { ConfusionMatrix } from './metrics.js';
import type { WindowEvaluation } from './windows.js';

/** How one detector did on one labelled dataset. The JSON field names are a contract: keep them. */
export interface DetectorEvaluation {
  detector: string;
  dataset: string;
  n: number;
  positives: number;
  threshold: number;
  /** How the threshold was chosen: `auto` (the detector's own), `contamination:R`, `fixed`, `best-f1`. */
  thresholdRule: string;
  /** True when the threshold was chosen on the same labels it is scored on (best-F1): read it as a ceiling. */
  optimistic: boolean;
  confusionMatrix: ConfusionMatrix;
  precision: number;
  recall: number;
  f1: number;
  rocAuc: number;
  averagePrecision: number;
  perType?: Record<string, { total: number; detected: number; recall: number }>;
  /** Stream-window results: a labelled window is found when an alert falls inside it (times in ms). */
  windows?: WindowEvaluation;
  /** Stream evaluation: alerts by the type they claim, and how many fall inside a labelled window of their series. */
  alertsByType?: Record<string, { alerts: number; inWindow: number; precision: number }>;
  seed?: number;
  /**
   * What makes some figures meaningless, in words (e.g. ROC-AUC and AP are null because the labels have
   * one class only); absent when there is nothing to say.
   */
  warnings?: string[];
  seconds: number;
  /** Curves for the reports, thinned to a few hundred points; left out of the JSON output. */
  curves?: { roc: { x: Float64Array; y: Float64Array }; pr: { x: Float64Array; y: Float64Array } };
}

export type ReportFormat = 'text' | 'json' | 'markdown' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'markdown', 'html'];

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '—');
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '—');

function duration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 60_000) return `${(ms / 1000).toFixed(0)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(0)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/**
 * Thins a curve to at most `max` points, keeping the first and last: enough to draw, small enough to embed.
 *
 * @example
 * ```ts
 * const { x, y } = thinCurve(roc.fpr, roc.tpr, 400);
 * ```
 */
export function thinCurve(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  max = 400,
): { x: Float64Array; y: Float64Array } {
  const n = x.length;
  if (n <= max) return { x: Float64Array.from(x), y: Float64Array.from(y) };
  const ox = new Float64Array(max);
  const oy = new Float64Array(max);
  for (let k = 0; k < max; k++) {
    const i = Math.round((k * (n - 1)) / (max - 1));
    ox[k] = x[i];
    oy[k] = y[i];
  }
  return { x: ox, y: oy };
}

/** The JSON form: every field but the curves and the per-window list (which can be long). */
export function toJsonRecord(e: DetectorEvaluation): Omit<DetectorEvaluation, 'curves'> {
  const { curves: _curves, ...rest } = e;
  if (!rest.windows) return rest;
  const { perWindow: _perWindow, delays: _delays, ...windows } = rest.windows;
  return { ...rest, windows: { ...windows, perWindow: [], delays: [] } };
}

/**
 * Renders results in one of the four formats.
 *
 * @example
 * ```ts
 * process.stdout.write(renderReport(results, 'markdown'));
 * ```
 */
export function renderReport(
  results: readonly DetectorEvaluation[],
  format: ReportFormat,
  title = 'shelfwatch evaluation',
): string {
  switch (format) {
    case 'json':
      return results.map((r) => JSON.stringify(toJsonRecord(r))).join('\n') + (results.length ? '\n' : '');
    case 'markdown':
      return renderMarkdown(results);
    case 'html':
      return renderHtml(results, title);
    default:
      return renderText(results);
  }
}

function summaryRows(results: readonly DetectorEvaluation[]): string[][] {
  return results.map((r) => [
    r.detector,
    r.dataset,
    String(r.n),
    `${f3(r.threshold)} (${r.thresholdRule}${r.optimistic ? ', optimistic' : ''})`,
    f3(r.precision),
    f3(r.recall),
    f3(r.f1),
    f3(r.rocAuc),
    f3(r.averagePrecision),
    `${r.confusionMatrix.tp}/${r.confusionMatrix.fp}/${r.confusionMatrix.tn}/${r.confusionMatrix.fn}`,
    `${r.seconds.toFixed(2)} s`,
  ]);
}

const SUMMARY_HEADER = [
  'detector',
  'dataset',
  'n',
  'threshold',
  'precision',
  'recall',
  'F1',
  'ROC-AUC',
  'AP',
  'tp/fp/tn/fn',
  'time',
];

/**
 * Recall per anomaly type, one column per detector. `short` cells (text) drop the word "delay" — the
 * caption says what the figures are — so that the terminal table stays narrow.
 */
function perTypeRows(
  results: readonly DetectorEvaluation[],
  short = false,
): { header: string[]; rows: string[][] } | null {
  const types = new Set<string>();
  for (const r of results) {
    for (const t of Object.keys(r.perType ?? {})) types.add(t);
    for (const t of Object.keys(r.windows?.perType ?? {})) types.add(t);
  }
  if (types.size === 0) return null;
  const sorted = [...types].sort();
  const rows = sorted.map((t) => [
    t,
    ...results.map((r) => {
      const w = r.windows?.perType[t];
      if (w && short) {
        const delay = w.meanDelay === null ? '' : ` ${duration(w.meanDelay)}`;
        return `${pct(w.recall)} (${w.found}/${w.windows})${delay}`;
      }
      if (w) return `${pct(w.recall)} (${w.found}/${w.windows}, delay ${duration(w.meanDelay)})`;
      const p = r.perType?.[t];
      return p ? `${pct(p.recall)} (${p.detected}/${p.total})` : '—';
    }),
  ]);
  return { header: ['anomaly type', ...results.map((r) => r.detector)], rows };
}

/** The width the text report's wide tables are wrapped to: a 100-column terminal. */
const TEXT_REPORT_WIDTH = 100;

/**
 * A text table whose first column is repeated and whose other columns are cut into blocks that each fit
 * `width` characters; a header `family:name` is set on two lines (`family:` over `name`).
 */
function wrappedTextTable(header: string[], rows: string[][], width: number): string {
  const split = (h: string): string[] => {
    const colon = h.indexOf(':');
    return colon > 0 && colon < h.length - 1 ? [h.slice(0, colon + 1), h.slice(colon + 1)] : [h];
  };
  const heads = header.map(split);
  const widths = header.map((_, j) =>
    Math.max(...heads[j].map((l) => l.length), ...rows.map((r) => r[j].length)),
  );
  const blocks: number[][] = [];
  let block: number[] = [];
  let used = widths[0];
  for (let j = 1; j < header.length; j++) {
    if (block.length > 0 && used + 2 + widths[j] > width) {
      blocks.push(block);
      block = [];
      used = widths[0];
    }
    block.push(j);
    used += 2 + widths[j];
  }
  if (block.length > 0) blocks.push(block);
  return blocks
    .map((cols) => {
      const all = [0, ...cols];
      const line = (cells: string[]): string =>
        cells
          .map((c, k) => c.padEnd(widths[all[k]]))
          .join('  ')
          .trimEnd();
      const depth = Math.max(...all.map((j) => heads[j].length));
      const headLines = Array.from({ length: depth }, (_, d) =>
        // Bottom-aligned: a one-line header sits on the last header line, beside the second half of a split one.
        line(all.map((j) => heads[j][heads[j].length - depth + d] ?? '')),
      );
      return [
        ...headLines,
        all.map((j) => '-'.repeat(widths[j])).join('  '),
        ...rows.map((r) => line(all.map((j) => r[j]))),
      ].join('\n');
    })
    .join('\n\n');
}

function windowRows(results: readonly DetectorEvaluation[]): string[][] {
  return results
    .filter((r) => r.windows)
    .map((r) => {
      const w = r.windows!;
      return [
        r.detector,
        `${pct(w.windowRecall)} (${w.found}/${w.windows})`,
        `${pct(w.alertPrecision)} (${w.truePositiveAlerts}/${w.alerts})`,
        String(w.falseAlerts),
        duration(w.meanDelay),
        duration(w.medianDelay),
      ];
    });
}
const WINDOW_HEADER = [
  'detector',
  'window recall',
  'alert precision',
  'false alerts',
  'mean delay',
  'median delay',
];

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, j) => c.padEnd(widths[j]))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable(header: string[], rows: string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function alertTypeRows(results: readonly DetectorEvaluation[]): string[][] {
  const rows: string[][] = [];
  for (const r of results) {
    for (const [type, a] of Object.entries(r.alertsByType ?? {}).sort()) {
      rows.push([r.detector, type, String(a.alerts), `${pct(a.precision)} (${a.inWindow}/${a.alerts})`]);
    }
  }
  return rows;
}
const ALERT_TYPE_HEADER = ['detector', 'alert type', 'alerts', 'alert precision'];

function renderText(results: readonly DetectorEvaluation[]): string {
  const parts = [textTable(SUMMARY_HEADER, summaryRows(results))];
  const w = windowRows(results);
  if (w.length) parts.push(`Stream windows\n${textTable(WINDOW_HEADER, w)}`);
  const at = alertTypeRows(results);
  if (at.length) parts.push(`Alert precision by type\n${textTable(ALERT_TYPE_HEADER, at)}`);
  const t = perTypeRows(results, true);
  if (t) {
    const stream = results.some((r) => r.windows);
    const caption = stream
      ? 'Recall by anomaly type: windows found (found/labelled) and mean detection delay'
      : 'Recall by anomaly type';
    parts.push(`${caption}\n${wrappedTextTable(t.header, t.rows, TEXT_REPORT_WIDTH)}`);
  }
  const notes = warningLines(results);
  if (notes.length) parts.push(`Warnings\n${notes.map((n) => `  ${n}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}

/** Each distinct warning once, with its dataset: they are usually the same for every detector. */
function warningLines(results: readonly DetectorEvaluation[]): string[] {
  return [...new Set(results.flatMap((r) => (r.warnings ?? []).map((w) => `${r.dataset}: ${w}`)))];
}

function renderMarkdown(results: readonly DetectorEvaluation[]): string {
  const parts = [markdownTable(SUMMARY_HEADER, summaryRows(results))];
  const w = windowRows(results);
  if (w.length) parts.push(`**Stream windows**\n\n${markdownTable(WINDOW_HEADER, w)}`);
  const at = alertTypeRows(results);
  if (at.length) parts.push(`**Alert precision by type**\n\n${markdownTable(ALERT_TYPE_HEADER, at)}`);
  const t = perTypeRows(results);
  if (t) parts.push(`**Recall by anomaly type**\n\n${markdownTable(t.header, t.rows)}`);
  const notes = warningLines(results);
  if (notes.length) parts.push(`**Warnings**\n\n${notes.map((n) => `- ${n}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** An SVG line chart of one curve per detector on the unit square. */
function svgChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: { name: string; x: Float64Array; y: Float64Array }[],
  diagonal: boolean,
  legendAt: 'top' | 'bottom' = 'top',
): string {
  const W = 420;
  const H = 340;
  const m = { l: 52, r: 16, t: 30, b: 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const sx = (v: number): string => (m.l + v * pw).toFixed(1);
  const sy = (v: number): string => (m.t + (1 - v) * ph).toFixed(1);
  const grid: string[] = [];
  for (let k = 0; k <= 5; k++) {
    const v = k / 5;
    grid.push(
      `<line x1="${sx(v)}" y1="${sy(0)}" x2="${sx(v)}" y2="${sy(1)}" stroke="#eee"/>`,
      `<line x1="${sx(0)}" y1="${sy(v)}" x2="${sx(1)}" y2="${sy(v)}" stroke="#eee"/>`,
      `<text x="${sx(v)}" y="${H - m.b + 16}" font-size="11" text-anchor="middle">${v.toFixed(1)}</text>`,
      `<text x="${m.l - 6}" y="${Number(sy(v)) + 4}" font-size="11" text-anchor="end">${v.toFixed(1)}</text>`,
    );
  }
  const lines = series.map((s, i) => {
    const pts = Array.from(s.x, (x, k) => `${sx(x)},${sy(s.y[k])}`).join(' ');
    return `<polyline fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2" points="${pts}"><title>${escapeHtml(
      s.name,
    )}</title></polyline>`;
  });
  const legend = series.map(
    (s, i) =>
      `<g transform="translate(${m.l + pw - 150},${
        legendAt === 'top' ? m.t + 14 + i * 16 : m.t + ph - 10 - (series.length - 1 - i) * 16
      })"><rect width="12" height="3" y="-4" fill="${
        PALETTE[i % PALETTE.length]
      }"/><text x="18" font-size="11">${escapeHtml(s.name)}</text></g>`,
  );
  return `<svg width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">
<text x="${W / 2}" y="18" font-size="14" font-weight="600" text-anchor="middle">${escapeHtml(title)}</text>
${grid.join('\n')}
<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>
${diagonal ? `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#bbb" stroke-dasharray="4 4"/>` : ''}
${lines.join('\n')}
${legend.join('\n')}
<text x="${m.l + pw / 2}" y="${H - 8}" font-size="12" text-anchor="middle">${escapeHtml(xLabel)}</text>
<text transform="translate(14,${m.t + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escapeHtml(yLabel)}</text>
</svg>`;
}

function htmlTable(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function confusionHtml(r: DetectorEvaluation): string {
  const c = r.confusionMatrix;
  return `<div class="cm"><h3>${escapeHtml(r.detector)}</h3><table><thead><tr><th></th><th>flagged</th><th>not flagged</th></tr></thead>
<tbody><tr><th>anomaly</th><td class="good">${c.tp}</td><td class="bad">${c.fn}</td></tr>
<tr><th>normal</th><td class="bad">${c.fp}</td><td class="good">${c.tn}</td></tr></tbody></table>
<p>threshold ${f3(r.threshold)} (${escapeHtml(r.thresholdRule)}${r.optimistic ? ', chosen on these labels: optimistic' : ''})</p></div>`;
}

function renderHtml(results: readonly DetectorEvaluation[], title: string): string {
  const withCurves = results.filter((r) => r.curves);
  const roc = svgChart(
    'ROC curve',
    'false positive rate',
    'true positive rate',
    withCurves.map((r) => ({ name: `${r.detector} (AUC ${f3(r.rocAuc)})`, ...r.curves!.roc })),
    true,
    // ROC curves hug the top-left corner: the empty corner is bottom-right.
    'bottom',
  );
  const pr = svgChart(
    'Precision–recall curve',
    'recall',
    'precision',
    withCurves.map((r) => ({ name: `${r.detector} (AP ${f3(r.averagePrecision)})`, ...r.curves!.pr })),
    false,
  );
  const w = windowRows(results);
  const t = perTypeRows(results);
  const notes = warningLines(results);
  const datasets = [...new Set(results.map((r) => r.dataset))].join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f5f5f5}
.charts{display:flex;flex-wrap:wrap;gap:16px}.cms{display:flex;flex-wrap:wrap;gap:24px}
.cm table td{min-width:70px;text-align:center}.good{background:#e8f5e9}.bad{background:#ffebee}
.note{color:#666;font-size:12px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">Dataset: ${escapeHtml(datasets)} · ${results.length} detector(s) · positive = anomaly</p>
<h2>Summary</h2>
${htmlTable(SUMMARY_HEADER, summaryRows(results))}
<div class="charts">${roc}${pr}</div>
<h2>Confusion matrices</h2>
<div class="cms">${results.map(confusionHtml).join('\n')}</div>
${w.length ? `<h2>Stream windows</h2>${htmlTable(WINDOW_HEADER, w)}` : ''}
${t ? `<h2>Recall by anomaly type</h2>${htmlTable(t.header, t.rows)}` : ''}
${notes.length ? `<h2>Warnings</h2><ul>${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
<p class="note">ROC-AUC and average precision follow scikit-learn's roc_auc_score and average_precision_score.
A best-F1 threshold is chosen on the same labels it is scored on, so its figures are a ceiling, not an estimate.</p>
</body></html>
`;
}

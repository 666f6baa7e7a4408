/**
 * Renders the HTML evaluation report of the ODDS mammography set in headless Chromium (Debian's
 * `chromium`) and saves a screenshot, so that we see what a manager sees.
 *
 *   npm run report:screenshot [-- --out docs/evaluation-report.png]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTabularCsv } from '../datasets/index.js';
import { evaluateTabular, renderReport, TABULAR_DETECTORS } from '../evaluation/index.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/evaluation-report.png' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
if (!existsSync(values.chromium)) {
  process.stderr.write(`report-screenshot: ${values.chromium} not found (apt-get install chromium)\n`);
  process.exit(2);
}
const data = new URL('../../shared/datasets/odds/mammography.csv', import.meta.url);
const { X, y } = await loadTabularCsv(data);
const results = evaluateTabular('mammography.csv', X, y, TABULAR_DETECTORS, {
  seed: 0,
  spec: { kind: 'auto' },
});
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-report-'));
try {
  const html = join(dir, 'report.html');
  writeFileSync(html, renderReport(results, 'html', 'shelfwatch evaluation: mammography.csv (ODDS)'));
  const out = resolve(values.out);
  execFileSync(
    values.chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--hide-scrollbars',
      '--window-size=1150,1250',
      `--screenshot=${out}`,
      `file://${html}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
  );
  const size = statSync(out).size;
  if (size < 10_000) throw new Error(`the screenshot ${out} is only ${size} bytes: the page did not render`);
  process.stdout.write(`report-screenshot: ${out} (${(size / 1024).toFixed(0)} KiB)\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Acceptance: on the ODDS sets, our Isolation Forest's mean ROC-AUC over 50 seeds (100 trees, ψ = 256,
 * fitted and scored on all rows) is within 0.01 of scikit-learn's, as recorded in
 * ../shared/datasets/odds/REFERENCE.md (read from that file, not copied here).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTabularCsv } from '../datasets/index.js';
import { IsolationForest } from '../detectors/index.js';
import { rocAuc } from '../evaluation/index.js';

const ODDS = new URL('../../shared/datasets/odds/', import.meta.url);
const SEEDS = 50;

/** scikit-learn's mean ROC-AUC for a set, from the REFERENCE.md table. */
function sklearnReference(file: string): number {
  const text = readFileSync(new URL('REFERENCE.md', ODDS), 'utf8');
  const row = text.split('\n').find((l) => l.startsWith(`| ${file} |`));
  if (!row) throw new Error(`REFERENCE.md has no row for ${file}`);
  const match = /\|\s*([0-9.]+)\s*±\s*([0-9.]+)\s*\|/.exec(row);
  if (!match) throw new Error(`REFERENCE.md row for ${file} has no "mean ± sd" cell: ${row}`);
  return Number(match[1]);
}

describe.each(['mammography.csv', 'satellite.csv'])('IsolationForest on %s', (file) => {
  it(`matches scikit-learn's mean ROC-AUC over ${SEEDS} seeds within 0.01`, async () => {
    const { X, y } = await loadTabularCsv(new URL(file, ODDS));
    let sum = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const forest = new IsolationForest({ nTrees: 100, sampleSize: 256, seed }).fit(X);
      sum += rocAuc(y, forest.scoreSamples(X));
    }
    const mean = sum / SEEDS;
    const reference = sklearnReference(file);
    expect(reference).toBeGreaterThan(0.5);
    expect(Math.abs(mean - reference)).toBeLessThanOrEqual(0.01);
  });
});

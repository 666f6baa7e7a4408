/** The `shelfwatch` command as a user runs it: real processes, real files, exit codes and outputs. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const MAMMOGRAPHY = new URL('../../shared/datasets/odds/mammography.csv', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  return cliWith({}, ...args);
}

function cliWith(
  env: Record<string, string>,
  ...args: string[]
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/index.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('shelfwatch', () => {
  it('lists its commands with --help and exits 0', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    for (const c of ['generate', 'evaluate', 'score-series']) expect(r.stdout).toContain(c);
  });

  it('rejects an unknown command with exit code 2 and the usage', () => {
    const r = cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it('run names a bad configuration key, value and source, and exits 2 before touching anything', () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'source: { type: generator, rat: 5 }\n');
    const typo = cli('run', '--config', cfg);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('source.rat');
    expect(typo.stderr).toContain('rate');
    const env = cliWith({ SHELFWATCH_SOURCE__RATE: 'fast' }, 'run');
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('SHELFWATCH_SOURCE__RATE');
    expect(env.stderr).toContain('"fast"');
    expect(cli('run', '--help').stdout).toContain('Ctrl-C');
  });

  it('generate writes events, labels and manifest; bad flags name themselves', () => {
    const out = join(dir, 'gen');
    const r = cli('generate', '--out', out, '--days', '3', '--skus', '10', '--seed', '5');
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.options.seed).toBe(5);
    expect(readFileSync(join(out, 'events.ndjson'), 'utf8').split('\n').length - 1).toBe(
      manifest.counts.records,
    );
    expect(r.stderr).toContain('generate done');

    const bad = cli('generate', '--out', out, '--anomaly-rate', '7');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('anomalyRate must be a number from 0 to 1, got 7');
    expect(cli('generate').stderr).toContain('needs --out DIR');
  });

  it('train fits a count model that run refuses to load when it is not one', () => {
    const data = join(dir, 'train-data');
    expect(cli('generate', '--out', data, '--days', '10', '--skus', '20', '--quiet').code).toBe(0);
    const model = join(dir, 'model.json');
    const r = cli('train', '--input', data, '--out', model, '--quiet');
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(model, 'utf8'));
    expect(json.kind).toBe('shelfwatch.CountModel');
    expect(json.trainedOn).toBeGreaterThan(10);
    const notAModel = join(dir, 'not-a-model.json');
    writeFileSync(notAModel, '{"kind":"other"}');
    const bad = cliWith({ SHELFWATCH_DETECTION__MODEL: notAModel, SHELFWATCH_METRICS__PORT: '0' }, 'run');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('detection.model');
    expect(bad.stderr).toContain('train one with shelfwatch train');
  });

  it('evaluate prints one JSON object per detector with the contract fields', () => {
    const r = cli(
      'evaluate',
      '--input',
      MAMMOGRAPHY,
      '--detector',
      'iforest,zscore',
      '--format',
      'json',
      '--seed',
      '3',
    );
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => x.detector)).toEqual(['iforest', 'zscore']);
    for (const x of rows) {
      expect(x.n).toBe(11183);
      for (const k of ['threshold', 'precision', 'recall', 'f1', 'rocAuc', 'averagePrecision']) {
        expect(typeof x[k]).toBe('number');
      }
      const cm = x.confusionMatrix;
      expect(cm.tp + cm.fp + cm.tn + cm.fn).toBe(11183);
      expect(cm.tp + cm.fn).toBe(260);
    }
    expect(rows[0].rocAuc).toBeGreaterThan(0.8);
  });

  it('evaluate writes a self-contained HTML report with --out', () => {
    const out = join(dir, 'report.html');
    const r = cli(
      'evaluate',
      '--input',
      MAMMOGRAPHY,
      '--detector',
      'iforest',
      '--format',
      'html',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('ROC curve');
  });

  it('evaluate names the bad line and column of a broken CSV', () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'f0,f1,label\n1,2,0\n3,x,1\n');
    const r = cli('evaluate', '--input', bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('bad.csv:3, column 2 ("f1"): "x" is not a finite number');
  });

  it('score-series writes timestamp,value,anomaly_score,label with scores in [0, 1]', () => {
    const input = join(dir, 'series.csv');
    const lines = ['timestamp,value,label'];
    for (let i = 0; i < 300; i++) {
      const t = new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString();
      lines.push(`${t},${i === 250 ? 500 : 20 + (i % 24)},${i === 250 ? 1 : 0}`);
    }
    writeFileSync(input, `${lines.join('\n')}\n`);
    const out = join(dir, 'scores.csv');
    const r = cli('score-series', '--input', input, '--out', out);
    expect(r.code).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('timestamp,value,anomaly_score,label');
    expect(rows).toHaveLength(301);
    const scores = rows.slice(1).map((l) => Number(l.split(',')[2]));
    for (const s of scores) expect(s >= 0 && s <= 1).toBe(true);
    expect(scores.indexOf(Math.max(...scores))).toBe(250);
    expect(rows[251].endsWith(',1')).toBe(true);
    expect(existsSync(out)).toBe(true);
  });
});

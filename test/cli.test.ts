/** The `shelfwatch` command as a user runs it: real processes, real files, exit codes and outputs. */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../cli/commands.js';

const ROOT = new URL('..', import.meta.url).pathname;
const MAMMOGRAPHY = new URL('../../shared/datasets/odds/mammography.csv', import.meta.url).pathname;
/** tsx by its file, so that the CLI can run from any working directory. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const RECORD_IMPORTS = join(ROOT, 'test/imports/register.mjs');
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Outcome {
  return cliWith({}, ...args);
}

function cliWith(env: Record<string, string>, ...args: string[]): Outcome {
  return cliIn(ROOT, env, ...args);
}

function cliIn(cwd: string, env: Record<string, string>, ...args: string[]): Outcome {
  const imports = env.RECORD_IMPORTS ? ['--import', RECORD_IMPORTS] : [];
  const r = spawnSync(process.execPath, ['--import', TSX, ...imports, join(ROOT, 'cli/index.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A small generated dataset and a count model trained on it, made once for the tests that need them. */
const demo = (() => {
  let made: { data: string; model: string } | undefined;
  return (): { data: string; model: string } => {
    if (made) return made;
    const data = join(dir, 'demo');
    const model = join(dir, 'demo-model.json');
    expect(cli('generate', '--out', data, '--days', '10', '--skus', '20', '--quiet').code).toBe(0);
    expect(cli('train', '--input', data, '--out', model, '--quiet').code).toBe(0);
    made = { data, model };
    return made;
  };
})();

describe('shelfwatch', () => {
  it('lists its commands with --help and exits 0', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    for (const c of ['generate', 'evaluate', 'score-series']) expect(r.stdout).toContain(c);
    const evaluate = r.stdout.split('\n').find((l) => l.startsWith('  evaluate '));
    expect(evaluate).toMatch(/a labelled CSV .* or a generated dataset folder/);
    expect(r.stdout).toMatch(/\nExamples:\n( {2}shelfwatch .+\n)+$/);
    for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
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
    const { model } = demo(); // generate, then train --input DIR --out FILE
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

/** The modules a command line made the ESM loader resolve, recorded by test/imports/register.mjs. */
function importsOf(...args: string[]): { outcome: Outcome; urls: string[] } {
  const file = join(dir, `imports-${args.join('-').replace(/\W+/g, '_')}.txt`);
  writeFileSync(file, '');
  const outcome = cliWith({ RECORD_IMPORTS: file }, ...args);
  return { outcome, urls: readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

const HEAVY = [
  /\/node_modules\/(@aws-sdk|@smithy|better-sqlite3|mysql2|kysely|pino|prom-client|zod|yaml|nodemailer)\//,
  new RegExp(`^${pathToFileURL(ROOT).href}(detectors|connectors|pipeline)/`),
];

describe('shelfwatch help', () => {
  it('prints the top-level and every command help without loading the AWS SDK, the stores or the detectors', () => {
    const cases = [
      ['--help'],
      ['help'],
      ...commands.flatMap((c) => [
        [c.name, '--help'],
        ['help', c.name],
      ]),
    ];
    for (const args of cases) {
      const { outcome, urls } = importsOf(...args);
      expect(outcome.code, args.join(' ')).toBe(0);
      expect(urls, args.join(' ')).toContain(pathToFileURL(join(ROOT, 'cli/index.ts')).href);
      expect(
        urls.filter((u) => HEAVY.some((h) => h.test(u))),
        args.join(' '),
      ).toEqual([]);
      const name = args.find((a) => commands.some((c) => c.name === a));
      if (name)
        expect(outcome.stdout, args.join(' ')).toBe(`${commands.find((c) => c.name === name)!.help}\n`);
    }
    // The recorder sees them when a command does run: replay loads the Kinesis client.
    const { outcome, urls } = importsOf('replay');
    expect(outcome.code).toBe(2);
    expect(urls.some((u) => u.includes('/node_modules/@aws-sdk/client-kinesis/'))).toBe(true);
  });

  it('runs the examples of generate, evaluate and score-series as printed, in a fresh folder', () => {
    const cwd = join(dir, 'examples');
    mkdirSync(cwd);
    // The files the examples name: a series with its windows, a small table, the ODDS mammography set.
    const series = ['timestamp,value,label'];
    for (let i = 0; i < 300; i++) {
      const t = new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString();
      series.push(`${t},${i === 250 ? 500 : 20 + (i % 24)},${i === 250 ? 1 : 0}`);
    }
    writeFileSync(join(cwd, 'ts.csv'), `${series.join('\n')}\n`);
    writeFileSync(
      join(cwd, 'windows.json'),
      JSON.stringify({ 'ts.csv': [['2026-01-11T09:00:00Z', '2026-01-11T12:00:00Z']] }),
    );
    const small = ['f0,f1,label'];
    for (let i = 0; i < 12; i++) small.push(`${i % 4},${(i * 7) % 5},0`);
    small.push('40,-40,1');
    writeFileSync(join(cwd, 'small.csv'), `${small.join('\n')}\n`);
    copyFileSync(MAMMOGRAPHY, join(cwd, 'mammography.csv'));
    let ran = 0;
    // Not run here: train's and evaluate's examples on data/demo (200 SKUs × 3 warehouses × 28 days
    // take half a minute each on a busy CI machine; the tests below run the same flags on a smaller
    // dataset), run's (a live job) and replay's (a Kinesis stream). cli/help.test.ts parses them all.
    for (const name of ['generate', 'evaluate', 'score-series']) {
      const { help } = commands.find((c) => c.name === name)!;
      const lines = help.slice(help.lastIndexOf('\nExamples:\n')).split('\n').slice(2);
      for (const line of lines.map((l) => l.trim())) {
        const args = line.split(/\s+/).slice(1); // after `shelfwatch`
        if (args[0] === 'evaluate' && args.includes('data/demo')) continue;
        const r = cliIn(cwd, {}, ...args);
        expect(r.code, `${line}\n${r.stderr}`).toBe(0);
        ran++;
      }
    }
    expect(ran).toBe(3 + 3 + 2);
    expect(existsSync(join(cwd, 'data/small/manifest.json'))).toBe(true);
    expect(readFileSync(join(cwd, 'scores.csv'), 'utf8')).toMatch(/^timestamp,value,anomaly_score,label\n/);
  });
});

describe('shelfwatch evaluate and its errors', () => {
  it('evaluate --model says which model it loaded and reports the count model as iforest:count', () => {
    const { data, model } = demo();
    const rows = (out: string) =>
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { detector: string; n: number });
    const without = cli('evaluate', '--input', data, '--format', 'json');
    expect(without.code).toBe(0);
    expect(rows(without.stdout).map((r) => r.detector)).not.toContain('iforest:count');
    expect(without.stderr).not.toContain('count model');

    const json = cli('evaluate', '--input', data, '--model', model, '--format', 'json');
    expect(json.code, json.stderr).toBe(0);
    const withModel = rows(json.stdout);
    expect(withModel.map((r) => r.detector)).toContain('iforest:count');
    const { trainedOn } = JSON.parse(readFileSync(model, 'utf8')) as { trainedOn: number };
    expect(json.stderr).toContain(
      `evaluate: loaded the count model ${model}: trained on ${trainedOn} rows (cycle counts), features gap_share, gap_units, book, days_since_last_count, daily_sales, shipped_since_last_count; its alerts are the iforest:count row`,
    );
    expect(json.stderr).toMatch(/the count model raised \d+ alerts/);

    const text = cli('evaluate', '--input', data, '--model', model);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^iforest:count\s/m);
    const recall = text.stdout.slice(text.stdout.indexOf('Recall by anomaly type'));
    expect(recall).toContain('iforest:');
    for (const line of recall.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);

    const csv = cli('evaluate', '--input', MAMMOGRAPHY, '--model', model);
    expect(csv.code).toBe(2);
    expect(csv.stderr).toContain('--model applies to a generated dataset folder');
  });

  it('names the missing labels.ndjson of a dataset folder by its full path', () => {
    const folder = join(dir, 'events-only');
    mkdirSync(folder);
    copyFileSync(join(demo().data, 'events.ndjson'), join(folder, 'events.ndjson'));
    const r = cli('evaluate', '--input', folder);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no labels.ndjson: ${join(folder, 'labels.ndjson')} does not exist`);
    expect(r.stdout).toBe('');
    // train needs only the events
    expect(cli('train', '--input', folder, '--out', join(dir, 'm2.json'), '--quiet').code).toBe(0);
  });

  it('train on a path that does not exist says no such file, with the path', () => {
    const missing = join(dir, 'no-such-history');
    const r = cli('train', '--input', missing, '--out', join(dir, 'm3.json'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--input ${missing}: no such file or directory`);
  });

  it('says DBSCAN needs k = minPts rows, and --min-pts lowers k', () => {
    const two = join(dir, 'two.csv');
    writeFileSync(two, 'f0,label\n1,0\n5,1\n');
    const r = cli('evaluate', '--input', two);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DBSCAN needs at least k = minPts = 4 rows');
    expect(r.stderr).toContain('the data has 2: lower k with --min-pts N');
    expect(r.stderr).not.toContain('k is 4 but X has only');
    const lowered = cli('evaluate', '--input', two, '--detector', 'dbscan', '--min-pts', '2');
    expect(lowered.code, lowered.stderr).toBe(0);
    expect(lowered.stdout).toMatch(/^dbscan\s+two\.csv\s+2\s/m);
    expect(cli('evaluate', '--input', two, '--min-pts', '1').stderr).toContain(
      '--min-pts takes a whole number of at least 2',
    );
  });

  it('warns that ROC-AUC and PR-AUC are undefined when a CSV has no anomaly labels', () => {
    const normal = join(dir, 'normal.csv');
    const lines = ['f0,f1,label'];
    for (let i = 0; i < 40; i++) lines.push(`${i % 5},${(i * 3) % 7},0`);
    writeFileSync(normal, `${lines.join('\n')}\n`);
    const text = cli('evaluate', '--input', normal, '--detector', 'iforest,zscore');
    expect(text.code).toBe(0);
    const warning =
      'no label is 1 (anomaly): ROC-AUC and PR-AUC (AP) need both classes and are undefined here';
    expect(text.stderr).toContain(`evaluate: warning: normal.csv: ${warning}`);
    expect(text.stderr).toContain('is --label COL the 0/1 label column?');
    expect(text.stderr.split(warning)).toHaveLength(2); // once, not per detector
    expect(text.stdout).toContain(`Warnings\n  normal.csv: ${warning}`);
    const json = cli('evaluate', '--input', normal, '--detector', 'iforest', '--format', 'json');
    const [row] = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(row.rocAuc).toBeNull();
    expect(row.averagePrecision).toBeNull();
    expect(row.warnings).toEqual([expect.stringContaining(warning)]);
  });

  it('score-series refuses a table of feature columns with exit code 2, naming the one value column it takes', () => {
    const table = join(dir, 'table.csv');
    writeFileSync(table, 'f0,f1,label\n1,2,0\n3,4,1\n5,6,0\n');
    const out = join(dir, 'table-scores.csv');
    const r = cli('score-series', '--input', table, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the header is "f0", "f1", "label"');
    expect(r.stderr).toContain('score-series scores one value column (timestamp,value[,label])');
    expect(r.stderr).toContain('shelfwatch evaluate');
    expect(existsSync(out)).toBe(false);
  });
});

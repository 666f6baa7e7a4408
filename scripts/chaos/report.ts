/**
 * The campaign's report: `docs/chaos-report.md` for people (the summary table, then every scenario's
 * figures and checks) and `docs/chaos-report.json` for tools, plus the short table for the README.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from './checks.js';

/**
 * Everything one campaign run found.
 *
 * @example
 * ```ts
 * const report: CampaignReport = { date: new Date().toISOString(), seed: 1, command: 'npm run chaos', quick: false, machine: machine(), results: [], seconds: 0 };
 * ```
 */
export interface CampaignReport {
  date: string;
  seed: number;
  command: string;
  quick: boolean;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };
  results: ScenarioResult[];
  seconds: number;
}

/**
 * This machine, as the report names it.
 *
 * @example
 * ```ts
 * machine(); // { cpu: 'AMD EPYC', cores: 2, memoryGiB: 24, node: 'v20.20.2', platform: 'linux x64' }
 * ```
 */
export function machine(): CampaignReport['machine'] {
  const cpu = cpus();
  return {
    cpu: (cpu[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim(),
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/**
 * The summary table (Markdown): one row per headline figure of every scenario that ran.
 *
 * @example
 * ```ts
 * console.log(summaryTable(report));
 * ```
 */
export function summaryTable(report: CampaignReport): string {
  const rows = report.results.flatMap((r) => r.headline ?? []);
  return [
    '| figure | result | held |',
    '|---|---|:-:|',
    ...rows.map((h) => `| ${cell(h.figure)} | ${cell(h.value)} | ${h.ok ? 'yes' : '**no**'} |`),
  ].join('\n');
}

/**
 * The whole report as Markdown.
 *
 * @example
 * ```ts
 * writeFileSync('docs/chaos-report.md', renderReport(report));
 * ```
 */
export function renderReport(report: CampaignReport): string {
  const m = report.machine;
  const failed = report.results.flatMap((r) =>
    r.checks.filter((c) => !c.ok).map((c) => `${r.scenario}: ${c.name}`),
  );
  const out = [
    '# Fault campaign report',
    '',
    `Written by \`${report.command}\` (scripts/chaos/) on ${report.date.slice(0, 10)}: seed ${report.seed}${report.quick ? ', **quick** (short) version' : ''}, ${(report.seconds / 60).toFixed(1)} min.`,
    `Machine: ${m.cpu}, ${m.cores} cores (shared), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}. Reproduce with \`${report.command}\`${report.command.includes('--seed') ? '' : ` (seed ${report.seed} is the default)`}.`,
    '',
    failed.length === 0
      ? '**Every check held.**'
      : `**${failed.length} checks failed:** ${failed.join('; ')}.`,
    '',
    '## Summary',
    '',
    summaryTable(report),
    '',
  ];
  for (const r of report.results) {
    out.push(`## ${r.scenario}`, '', r.summary, '');
    if (r.figures.length > 0) {
      out.push(
        '| figure | value |',
        '|---|---|',
        ...r.figures.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`),
        '',
      );
    }
    out.push(
      `Checks (${r.checks.filter((c) => c.ok).length}/${r.checks.length} held${r.seconds === undefined ? '' : `, ${r.seconds.toFixed(0)} s`}):`,
      '',
      ...r.checks.map(
        (c) =>
          `- ${c.ok ? '✓' : '✗ **FAILED**'} ${c.name}${c.detail ? `: ${c.detail.replaceAll('\n', ' ').slice(0, 400)}` : ''}`,
      ),
      '',
    );
  }
  out.push(HOW, '');
  return out.join('\n');
}

const HOW = `## How each figure is checked

- **kills**: the stream is generated (\`writeDataset\`) with hostile lines mixed in (\`scripts/chaos/hostile.ts\`); \`shelfwatch run\` (file source, SQLite, file alert sink, log level debug) is SIGKILLed once its stored checkpoint passes each of N seeded lines, after a random part of a batch (or at a random moment of its start-up when the restarted job is already past the point), and restarted until it exits 0. *Final state* compares every series row (quantities, velocity, detector model), anomalies, dead letters (line, code, reason) and the checkpoint with a clean run of the same file. *Events lost*: ids the clean run applied in the last duplicate window (24 h of event time) missing from the killed run's. *Applied twice*: the events applied by every committed batch of every run (the job's debug \`batch\` lines, each with its checkpoint; every run's last logged commit must be its stored checkpoint, or the sum is not exact) minus the clean run's. *Duplicate alerts*: ids that occur more than once in the alert file; the set must equal the clean run's.
- **outages**: \`scripts/chaos/outage-run.ts\` (also \`test/outages.test.ts\`): the job streams the generator source into MariaDB, DynamoDB Local or SQLite + fauxqs; the server is taken away for the stated time once 1,500 records are committed; the job must stay alive, answer /healthz, hold its checkpoint while it retries, catch up, and end with the series, anomalies, dead letters and alerts of the same engine run in-process without an outage; for fauxqs, every alert must reach the SQS subscriber once.
- **fuzz**: fast-check arbitraries of the three wire formats (\`scripts/chaos/arbitraries.ts\`, seeded), valid generated records and the hostile classes, through \`shelfwatch run\` tailing the file; once the checkpoint reaches the last line, /metrics is read and the job gets SIGTERM. Each line's fate comes from the store (dead letters by line) and the event ids of the accepted lines: *applied* (a new event), *duplicate* (all its events applied before), *dead letter*, *blank*; they must add up to the lines, and agree with \`shelfwatch_events_total\`, \`_duplicates_total\`, \`_dead_letters_total\`, \`_blank_lines_total\`, \`_records_total\`. The accepted lines alone, through a clean job, must give the same series, ids and anomalies, and no dead letter.
- **soak**: generated records appended to a file at a fixed rate (a writer on the wall clock) and tailed by the job; /metrics every few seconds: records committed per second after the warm-up, the backlog (written − committed), RSS after the warm-up (start), at the end and the max, and the least-squares RSS trend over the second half; /readyz at every sample.
- **sigterm**: a webhook sink on a port nothing listens on, the default \`shutdown.timeoutMs\`; SIGTERM once the job logs a retry; time to exit, exit code and the last log line.`;

/**
 * Writes `chaos-report.md` and `chaos-report.json` into `dir`; returns their paths.
 *
 * @example
 * ```ts
 * writeReport(report, 'docs');
 * ```
 */
export function writeReport(report: CampaignReport, dir: string): string[] {
  const md = join(dir, 'chaos-report.md');
  const json = join(dir, 'chaos-report.json');
  writeFileSync(md, renderReport(report));
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  return [md, json];
}

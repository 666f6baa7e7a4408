/**
 * infra/observability/rules.yml, checked by Prometheus' own promtool: the rules parse, and
 * rules.test.yml's series fire each alert where they should and not where they should not. A copy
 * with one threshold changed must fail those tests, and every metric the rules read must be one the
 * job exports.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../pipeline/index.js';

const ROOT = new URL('..', import.meta.url).pathname;
const RULES = join(ROOT, 'infra/observability/rules.yml');
const RULE_TESTS = join(ROOT, 'infra/observability/rules.test.yml');
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('promtool', args, { timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        "promtool is not installed: run .ci/run, or `apt-get install prometheus` (Debian's package ships promtool)",
      );
    }
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('infra/observability/rules.yml', () => {
  it('passes promtool check rules', async () => {
    const r = await promtool('check', 'rules', RULES);
    expect(r.output).toContain('SUCCESS: 16 rules found');
    expect(r.code).toBe(0);
  });

  it("passes its unit tests: each alert fires on its series and stays quiet on the others'", async () => {
    const r = await promtool('test', 'rules', RULE_TESTS);
    expect(r.code, r.output).toBe(0);
  });

  it('fails its unit tests when a threshold changes', async () => {
    writeFileSync(
      join(dir, 'rules.yml'),
      readFileSync(RULES, 'utf8').replace(
        'shelfwatch:dead_letter_ratio:rate5m > 0.05',
        'shelfwatch:dead_letter_ratio:rate5m > 0.5',
      ),
    );
    copyFileSync(RULE_TESTS, join(dir, 'rules.test.yml'));
    const r = await promtool('test', 'rules', join(dir, 'rules.test.yml'));
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('alertname: ShelfwatchDeadLetterRatioHigh');
  });

  it('reads only metrics the job exports', async () => {
    const exported = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const read = new Set(
      [...readFileSync(RULES, 'utf8').matchAll(/\bshelfwatch_[a-z_]+/g)].map((m) =>
        m[0].replace(/_(bucket|sum|count)$/, ''),
      ),
    );
    expect(read.size).toBeGreaterThan(5);
    expect([...read].filter((name) => !exported.has(name))).toEqual([]);
  });
});

/**
 * The real thing, offline: `npx cdk synth --no-lookups --no-notices --quiet` runs cdk.json's app (tsx
 * bin/app.ts) with the CDK CLI from the lock file, as a deployment would, into a temporary folder. This
 * also runs what the in-process tests leave out: CDK's CloudFormation schema and rule validation of
 * every template, with cdk-nag registered as a validation plugin (a finding fails the synth).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const INFRA = fileURLToPath(new URL('..', import.meta.url));
let out: string;
let synth: ReturnType<typeof spawnSync>;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'shelfwatch-cdk-'));
  synth = spawnSync('npx', ['cdk', 'synth', '--no-lookups', '--no-notices', '--quiet', '--output', out], {
    cwd: INFRA,
    encoding: 'utf8',
    env: {
      ...process.env,
      CDK_DISABLE_CLI_TELEMETRY: '1',
      // No credentials, no account, no region: the stacks are environment-agnostic and nothing is looked up.
      AWS_PROFILE: '',
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      CDK_DEFAULT_ACCOUNT: '',
      CDK_DEFAULT_REGION: '',
    },
    timeout: 240_000,
  });
}, 300_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

interface Manifest {
  artifacts: Record<string, { type: string; dependencies?: string[] }>;
}

describe('cdk synth', () => {
  it('succeeds offline', () => {
    expect(synth.error).toBeUndefined();
    expect(synth.stderr).not.toMatch(/\[Error at|\[Warning at|WARNING|AwsSolutions-/);
    expect(synth.status, String(synth.stderr)).toBe(0);
  });

  it('writes a cloud assembly with the four stacks of the default (ECS) deployment, the workers deployed last', () => {
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
    const stacks = Object.entries(manifest.artifacts)
      .filter(([, a]) => a.type === 'aws:cloudformation:stack')
      .map(([id]) => id);
    expect(stacks.sort()).toEqual([
      'ShelfwatchAlerts',
      'ShelfwatchData',
      'ShelfwatchNetwork',
      'ShelfwatchWorker',
    ]);
    expect(manifest.artifacts.ShelfwatchWorker.dependencies).toEqual(
      expect.arrayContaining(['ShelfwatchNetwork', 'ShelfwatchData', 'ShelfwatchAlerts']),
    );
    for (const id of stacks) {
      const template = JSON.parse(readFileSync(join(out, `${id}.template.json`), 'utf8')) as {
        Resources: Record<string, unknown>;
      };
      expect(Object.keys(template.Resources).length, id).toBeGreaterThan(3);
    }
  });

  it('reports no validation finding', () => {
    const report = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8')) as {
      pluginReports: unknown[];
    };
    expect(report.pluginReports).toEqual([]);
  });
});

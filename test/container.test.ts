/**
 * Issue 13, item 2: the container image, built and run as an orchestrator would. The base image is
 * assembled by infra/container/base-image.sh (no registry is reachable here; cached after the first
 * run), the image is built from the Containerfile with buildah, then run with podman on a generated
 * NDJSON file: health and readiness, metrics, the file processed with alerts written into a mounted
 * folder as uid 10001, tini as PID 1, and a `podman stop` that ends the job cleanly within its grace.
 *
 * Needs root and buildah, podman, runc, debootstrap (.ci/run installs them); without them it fails.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../datasets/index.js';
import { freePort } from './servers/ports.js';

const ROOT = new URL('..', import.meta.url).pathname;
const BASE_IMAGE = 'localhost/node:22-bookworm-slim';
const IMAGE = `localhost/shelfwatch:test-${process.pid}`;
const CONTAINER = `shelfwatch-test-${process.pid}`;
const UID = 10001;
/** What runs here (ops-tooling.md): runc, not crun; host network; limits runc may set as root. */
const RUN_FLAGS = [
  '--runtime',
  'runc',
  '--network',
  'host',
  '--ulimit',
  'nofile=20000:20000',
  '--ulimit',
  'nproc=1024:1024',
];
const TOOLS = ['buildah', 'podman', 'runc', 'debootstrap'] as const;
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end, output kept; throws with the output unless it exits 0 (`check`). */
function run(command: string, args: readonly string[], options: { check?: boolean } = {}): Promise<Ran> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-20_000);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const ran = { code, stdout, stderr, ms: Date.now() - t0 };
      if (options.check !== false && code !== 0) {
        reject(
          new Error(
            `${command} ${args.join(' ')} exited ${code}\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`,
          ),
        );
      } else resolve(ran);
    });
  });
}

/** On PATH, or in the sbin folders a PATH may leave out (debootstrap is in /usr/sbin). */
function have(tool: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  return dirs.some((d) => d !== '' && existsSync(join(d, tool)));
}

/** Polls `check` until it returns a value other than undefined; throws, saying what, after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function get(port: number, path: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** The sum of a metric's samples (all label sets) in a Prometheus text exposition. */
function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * Compiling better-sqlite3 is over a third of a cold build's CPU (~80 of ~220 CPU-s here). Where this
 * machine's own better-sqlite3 was built for the base image's Node version on the base image's Debian
 * release, it is handed to the build as prebuild-install's cached download (a folder mounted over
 * /root/.npm/_prebuilds), so `npm ci` in the build stage unpacks it instead of compiling; the build
 * stage then loads it, and the run below uses it. SHELFWATCH_CONTAINER_COMPILE=1 compiles in the build,
 * as a build elsewhere does. Returns the folder, or undefined when the build is to compile.
 */
async function hostPrebuild(folder: string): Promise<string | undefined> {
  if (process.env.SHELFWATCH_CONTAINER_COMPILE === '1') return undefined;
  const baseEnv = await run('podman', ['image', 'inspect', '--format', '{{json .Config.Env}}', BASE_IMAGE]);
  const baseNode = (JSON.parse(baseEnv.stdout) as string[]).find((e) => e.startsWith('NODE_VERSION='));
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (
    baseNode !== `NODE_VERSION=${process.versions.node}` ||
    !/^VERSION_CODENAME=bookworm$/m.test(osRelease)
  ) {
    return undefined;
  }
  const require = createRequire(import.meta.url);
  let modulePath: string;
  let cachedName: string;
  try {
    modulePath = dirname(require.resolve('better-sqlite3/package.json'));
    // Loads in this process, so it is built for this Node's ABI (which the file name below states).
    const Database = require('better-sqlite3') as new (file: string) => { close(): void };
    new Database(':memory:').close();
    // The name prebuild-install gives a download of this version, ABI and platform in its cache.
    const util = require('prebuild-install/util') as {
      getDownloadUrl(opts: Record<string, unknown>): string;
      cachedPrebuild(url: string): string;
    };
    const pkg = JSON.parse(readFileSync(join(modulePath, 'package.json'), 'utf8')) as Record<string, unknown>;
    const url = util.getDownloadUrl({ pkg, platform: 'linux', arch: 'x64', 'tag-prefix': 'v' });
    cachedName = basename(util.cachedPrebuild(url));
  } catch {
    return undefined; // no usable build here: the image build compiles
  }
  if (!existsSync(join(modulePath, 'build/Release/better_sqlite3.node'))) return undefined;
  mkdirSync(folder, { recursive: true });
  await run('tar', ['-czf', join(folder, cachedName), '-C', modulePath, 'build/Release/better_sqlite3.node']);
  return folder;
}

/** Why the image cannot be built and run here, or undefined when it can. */
function unmetNeeds(): string | undefined {
  const missing = TOOLS.filter((t) => !have(t));
  if (missing.length > 0) {
    return (
      `the container test needs ${missing.join(', ')}: run .ci/run, or ` +
      '`apt-get install -y --no-install-recommends buildah podman runc debootstrap`'
    );
  }
  if (process.getuid?.() !== 0) {
    return 'the container test builds with buildah and debootstrap as root: run it as root (CI does)';
  }
  return undefined;
}

describe('Containerfile', () => {
  // Its own test, so that a machine without them shows a failure saying so, not only a failed hook.
  it('can be built and run here: buildah, podman, runc and debootstrap are installed, as root', () => {
    expect(unmetNeeds()).toBeUndefined();
  });

  it('has no problem dockerfile-utils finds, with every check it has set to an error', () => {
    const everyCheck = {
      deprecatedMaintainer: 2,
      directiveCasing: 2,
      emptyContinuationLine: 2,
      instructionCasing: 2,
      instructionCmdMultiple: 2,
      instructionEntrypointMultiple: 2,
      instructionHealthcheckMultiple: 2,
      instructionJSONInSingleQuotes: 2,
      instructionWorkdirRelative: 2,
    } as const;
    const problems = validate(readFileSync(join(ROOT, 'Containerfile'), 'utf8'), everyCheck);
    expect(problems.map((p) => `line ${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
    // The linter does find problems: a relative WORKDIR and two CMDs.
    const messages = validate('FROM x\nWORKDIR app\nCMD ["a"]\nCMD ["b"]\n', everyCheck).map(
      (p) => p.message,
    );
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('WORKDIR paths should be absolute'),
        expect.stringContaining('only be one CMD'),
      ]),
    );
  });

  it('is what Docker users build too: .dockerignore is the same file as .containerignore', () => {
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8')).toBe(
      readFileSync(join(ROOT, '.containerignore'), 'utf8'),
    );
  });
});

describe('the container image', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-container-'));
  const figures: string[] = [];
  let containerCreated = false;
  let imageBuilt = false;
  let prebuildOffered = false;

  beforeAll(async () => {
    const unmet = unmetNeeds();
    if (unmet !== undefined) throw new Error(unmet);

    const base = await run('bash', [join(ROOT, 'infra/container/base-image.sh')]);
    figures.push(
      `base image ${BASE_IMAGE}: ${base.stderr.includes(' exists') ? 'cached' : 'built'} in ${secs(base.ms)}`,
    );

    // The host's npm cache serves `npm ci` in the build (--prefer-offline): CI has just filled it.
    const npmCache = join(homedir(), '.npm');
    mkdirSync(npmCache, { recursive: true });
    const prebuild = await hostPrebuild(join(dir, 'prebuilds'));
    prebuildOffered = prebuild !== undefined;
    const prebuildArgs = prebuild === undefined ? [] : ['--volume', `${prebuild}:/root/.npm/_prebuilds`];
    // Layers make the next build take seconds, and cost ~50 CPU-s more than a plain build (measured).
    // A CI machine usually starts without them, so there it builds plain unless a cache is there.
    const stageCache = await run('podman', [
      'images',
      '--quiet',
      '--filter',
      'label=io.shelfwatch.stage=build',
    ]);
    const layers = !process.env.CI || stageCache.stdout.trim() !== '';
    const revision = await run('git', ['rev-parse', 'HEAD'], { check: false });
    // Behind a TLS-inspecting proxy (as here) npm in the build trusts what the host's Node trusts.
    const ca = process.env.NODE_EXTRA_CA_CERTS;
    const caArgs =
      ca !== undefined && existsSync(ca)
        ? ['--volume', `${ca}:/run/host-ca.crt:ro`, '--build-arg', 'NODE_EXTRA_CA_CERTS=/run/host-ca.crt']
        : [];
    const build = await run('buildah', [
      'bud',
      '--runtime',
      'runc',
      '--format',
      'docker', // HEALTHCHECK is a Docker-format setting; the OCI format drops it
      `--layers=${layers}`,
      '--force-rm', // a failed step's working container is removed too
      '--build-arg',
      `BASE_IMAGE=${BASE_IMAGE}`,
      '--label',
      `org.opencontainers.image.version=${PKG.version}`,
      '--label',
      `org.opencontainers.image.revision=${revision.code === 0 ? revision.stdout.trim() : 'unknown'}`,
      '--label',
      `org.opencontainers.image.created=${new Date().toISOString()}`,
      '--volume',
      `${npmCache}:/root/.npm`,
      ...prebuildArgs,
      ...caArgs,
      '--tag',
      IMAGE,
      '.',
    ]);
    imageBuilt = true;
    figures.push(
      `image build (${layers ? 'layered' : 'plain'}, better-sqlite3 ${prebuild ? "this machine's build" : 'compiled'}): ${secs(build.ms)}`,
    );
  }, 20 * 60_000);

  afterAll(async () => {
    if (containerCreated) await run('podman', ['rm', '--force', '--time', '0', CONTAINER], { check: false });
    if (imageBuilt) await run('podman', ['rmi', '--force', IMAGE], { check: false });
    // A layered build keeps its build stage as an untagged image (the cache of the next build); keep
    // the newest, remove older ones (each is ~900 MB). The base image stays: rebuilding it is slow.
    const stages = await run(
      'podman',
      [
        'images',
        '--filter',
        'dangling=true',
        '--filter',
        'label=io.shelfwatch.stage=build',
        '--format',
        '{{.ID}}',
      ],
      { check: false },
    );
    for (const id of stages.stdout.split('\n').filter(Boolean).slice(1)) {
      await run('podman', ['rmi', id], { check: false });
    }
    rmSync(dir, { recursive: true, force: true });
    if (figures.length > 0) console.log(`container test figures:\n  ${figures.join('\n  ')}`);
  });

  it('prints its help and version, runs as uid 10001 from /, and carries the OCI labels', async () => {
    const help = await run('podman', ['run', '--rm', ...RUN_FLAGS, IMAGE, '--help']);
    expect(help.stdout).toContain('Usage: shelfwatch <command>');
    const version = await run('podman', ['run', '--rm', ...RUN_FLAGS, IMAGE, '--version']);
    expect(version.stdout.trim()).toBe(PKG.version);

    const inspect = await run('podman', ['image', 'inspect', IMAGE]);
    const [image] = JSON.parse(inspect.stdout) as {
      Size: number;
      Config: {
        User: string;
        WorkingDir: string;
        Entrypoint: string[];
        Cmd: string[];
        Env: string[];
        ExposedPorts: Record<string, unknown>;
        Volumes: Record<string, unknown>;
        Labels: Record<string, string>;
      };
      Healthcheck?: { Test: string[] };
    }[];
    const config = image!.Config;
    expect(config.User).toBe(`${UID}:${UID}`);
    expect(config.WorkingDir).toBe('/');
    expect(config.Entrypoint).toEqual(['/usr/bin/tini', '--', 'node', '/app/dist/cli/index.js']);
    expect(config.Cmd).toEqual(['run']);
    expect(config.Env).toEqual(
      expect.arrayContaining(['NODE_ENV=production', 'SHELFWATCH_METRICS__HOST=0.0.0.0']),
    );
    expect(Object.keys(config.ExposedPorts)).toEqual(['9464/tcp']);
    expect(Object.keys(config.Volumes)).toEqual(['/data']);
    expect(image!.Healthcheck?.Test.join(' ')).toContain('/healthz');
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'shelfwatch',
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.version': PKG.version,
      'org.opencontainers.image.base.name': BASE_IMAGE,
    });
    expect(Number.isNaN(Date.parse(config.Labels['org.opencontainers.image.created']!))).toBe(false);
    if (prebuildOffered) {
      // This machine's better-sqlite3 was offered to the build: the image has that very file.
      const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
      const inImage = await run('podman', [
        'run',
        '--rm',
        ...RUN_FLAGS,
        '--entrypoint',
        'sha256sum',
        IMAGE,
        `/app/${addon}`,
      ]);
      const onHost = createHash('sha256')
        .update(readFileSync(join(ROOT, addon)))
        .digest('hex');
      expect(inImage.stdout.split(' ')[0]).toBe(onHost);
    }
    figures.push(`image size: ${(image!.Size / 1e6).toFixed(0)} MB (base included)`);
  });

  it('processes a mounted NDJSON file, answers /healthz, /readyz and /metrics, and stops on SIGTERM with 0', async () => {
    const manifest = await writeDataset(join(dir, 'input'), { seed: 13, skus: 30, days: 28 });
    expect(manifest.counts.labels).toBeGreaterThan(0);
    // The job runs as 10001: what it writes to goes to folders 10001 owns, as a pod's fsGroup would.
    for (const sub of ['out', 'data']) {
      mkdirSync(join(dir, sub));
      chownSync(join(dir, sub), UID, UID);
    }
    mkdirSync(join(dir, 'config'));
    writeFileSync(
      join(dir, 'config/shelfwatch.yaml'),
      [
        '# Tails the file (follow) so the job runs until it is stopped; the store is the default,',
        '# data/shelfwatch.db, which the image puts in /data.',
        'source: { type: file, path: /input/events.ndjson, follow: true }',
        'alerts: { sinks: [{ type: file, path: /out/alerts.ndjson }] }',
        'batch: { maxWaitMs: 50 }',
        'log: { level: warn, format: json }',
      ].join('\n'),
    );
    const port = await freePort();
    const t0 = Date.now();
    await run('podman', [
      'run',
      '--detach',
      '--name',
      CONTAINER,
      ...RUN_FLAGS,
      // No systemd timer here: the health check is run by hand below.
      '--health-interval',
      'disable',
      '--env',
      `SHELFWATCH_METRICS__PORT=${port}`,
      '--volume',
      `${join(dir, 'input')}:/input:ro`,
      '--volume',
      `${join(dir, 'config')}:/config:ro`,
      '--volume',
      `${join(dir, 'out')}:/out`,
      '--volume',
      `${join(dir, 'data')}:/data`,
      IMAGE,
      'run',
      '--config',
      '/config/shelfwatch.yaml',
    ]);
    containerCreated = true;
    const logs = async (): Promise<string> => {
      const l = await run('podman', ['logs', CONTAINER], { check: false });
      return `${l.stdout}${l.stderr}`.slice(-4000);
    };
    const alive = async (): Promise<void> => {
      const state = await run('podman', ['inspect', '--format', '{{.State.Running}}', CONTAINER]);
      if (state.stdout.trim() !== 'true') throw new Error(`the container stopped:\n${await logs()}`);
    };

    await until(
      '/readyz 200',
      async () => {
        const r = await get(port, '/readyz');
        if (r?.status === 200) return true;
        await alive();
        return undefined;
      },
      60_000,
    );
    const readyMs = Date.now() - t0;
    expect((await get(port, '/healthz'))?.status).toBe(200);

    // The file is processed: events applied, anomalies raised, alerts written by uid 10001.
    const metrics = await until(
      'events and anomalies in /metrics',
      async () => {
        const r = await get(port, '/metrics');
        if (r === undefined || !r.body.includes('shelfwatch_events_total')) return undefined;
        return metricSum(r.body, 'shelfwatch_anomalies_total') > 0 ? r.body : undefined;
      },
      60_000,
    );
    expect(metricSum(metrics, 'shelfwatch_events_total')).toBeGreaterThan(0);
    const alerts = join(dir, 'out/alerts.ndjson');
    await until(
      'an alert in the mounted folder',
      async () => (existsSync(alerts) && statSync(alerts).size > 0) || undefined,
      30_000,
    );
    const first = JSON.parse(readFileSync(alerts, 'utf8').split('\n')[0]!) as { anomalies?: unknown[] };
    expect(first.anomalies?.length).toBeGreaterThan(0);
    expect(statSync(alerts).uid).toBe(UID);
    const db = join(dir, 'data/shelfwatch.db');
    expect(existsSync(db), 'the default store lands in /data').toBe(true);
    expect(statSync(db).uid).toBe(UID);

    // PID 1 is tini; its child, the job, runs as 10001 (read from the host's /proc).
    const pid = Number(
      (await run('podman', ['inspect', '--format', '{{.State.Pid}}', CONTAINER])).stdout.trim(),
    );
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('tini');
    const nsPid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.split(/\s+/);
    expect(nsPid?.at(-1), 'tini is PID 1 in the container').toBe('1');
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    expect(children).toHaveLength(1);
    const job = children[0]!;
    expect(readFileSync(`/proc/${job}/cmdline`, 'utf8').split('\0').slice(0, 3)).toEqual([
      'node',
      '/app/dist/cli/index.js',
      'run',
    ]);
    const uids = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${job}/status`, 'utf8'))?.[1]?.split(/\s+/);
    expect(uids).toEqual([`${UID}`, `${UID}`, `${UID}`, `${UID}`]);

    // The image's HEALTHCHECK (node + fetch, on the port from the environment) passes.
    const health = await run('podman', ['healthcheck', 'run', CONTAINER], { check: false });
    expect(health.code, `${health.stdout}${health.stderr}`).toBe(0);

    // podman stop sends SIGTERM (to tini, which passes it on) and SIGKILLs after 10 s: the job must
    // finish its batch, checkpoint and exit 0 well before that.
    const stop = await run('podman', ['stop', '--time', '10', CONTAINER]);
    expect(stop.ms).toBeLessThan(10_000);
    const exit = await run('podman', ['inspect', '--format', '{{.State.ExitCode}}', CONTAINER]);
    expect(exit.stdout.trim(), await logs()).toBe('0');
    figures.push(`start → /readyz 200: ${secs(readyMs)}`, `podman stop: ${secs(stop.ms)}`);
  }, 180_000);
});

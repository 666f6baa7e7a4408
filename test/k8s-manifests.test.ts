/**
 * infra/k8s: the kustomize base and overlays render with `kubectl kustomize`, and what they render is
 * fit to deploy. There is no API server here, so nothing is applied: every object is checked offline,
 * against its schema (kubernetes-models, @kubernetes-models/keda, @kubernetes-models/prometheus-operator)
 * and against the same models' TypeScript types, compiled in memory: the schemas accept keys they do not
 * know, so a misspelt `livenessprobe` would pass them, and only the types' excess-property check catches
 * it. Then the properties that matter for the job are asserted, and the generated ConfigMap's file is
 * loaded with the job's own `loadRunConfig` and the environment the pod would have.
 *
 * kubectl is required: without it (or with a kubectl whose kustomize is older than v5) these tests fail
 * saying how to install one; they never skip.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type IScaledObject, ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import {
  type IServiceMonitor,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import {
  type IPodDisruptionBudget,
  PodDisruptionBudget,
} from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { type IService, Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ConfigError, loadRunConfig } from '../pipeline/config/load.js';
import { isPlainObject } from '../pipeline/config/paths.js';
import { isSecretPath } from '../pipeline/config/redact.js';
import type { RunConfig } from '../pipeline/config/schema.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const K8S = join(ROOT, 'infra/k8s');
const tmp = mkdtempSync(join(tmpdir(), 'shelfwatch-k8s-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The image's `shelfwatch` user (infra/k8s/README.md; the Dockerfile creates it with this uid). */
const UID = 10001;
const METRICS_PORT = 9464;
/** The largest RSS of the 10-minute soak at 5,000 records/s (README), MiB. */
const OBSERVED_PEAK_RSS_MIB = 271;
/** What the pod's name looks like, for the env var the Deployment sets from it. */
const POD_NAME = 'shelfwatch-6f7d9c8b5-x2x4q';

// ---- rendering -----------------------------------------------------------------------------------

const INSTALL_KUBECTL =
  'Install kubectl 1.27 or later (its built-in kustomize must be v5): the `kubectl` package of the ' +
  "Kubernetes or Google Cloud CLI apt repositories, or a release binary on PATH. Debian's own " +
  '`kubernetes-client` package is kubectl 1.20, too old. Then run this test again.';

/** Runs kubectl; a missing binary is a failure that says how to install it, never a skip. */
function kubectl(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync('kubectl', args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`kubectl is not installed (not found on PATH). ${INSTALL_KUBECTL}`);
    }
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || (err as Error).message}`);
  }
}

/** The manifests are checked with kustomize v5 (kubectl 1.27+); kubectl 1.20 embeds v2, without `patches:`. */
function requireKustomize5(env: NodeJS.ProcessEnv = process.env): void {
  const version = kubectl(['version', '--client'], env);
  const major = Number(/Kustomize Version: v(\d+)/.exec(version)?.[1] ?? Number.NaN);
  if (!(major >= 5)) {
    throw new Error(`kubectl's kustomize is not v5 or later (kubectl version --client: ${version.trim()}).`);
  }
}

/** A rendered object: what every Kubernetes object has, the rest unknown until validated. */
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** `kubectl kustomize DIR`, split into its YAML documents. */
function render(dir: string): K8sObject[] {
  const text = kubectl(['kustomize', join(K8S, dir)]);
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: document ${i}: ${doc.errors[0].message}`);
    const value: unknown = doc.toJS();
    if (!isPlainObject(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string') {
      throw new Error(`${dir}: document ${i} is not a Kubernetes object`);
    }
    return value as K8sObject;
  });
}

// ---- schemas and types ---------------------------------------------------------------------------

/**
 * Per `apiVersion/kind`: the model whose JSON schema validates the object, and the module and
 * interface of its TypeScript type. Only these kinds may appear in a render.
 */
const MODELS: Record<string, { validate: (o: K8sObject) => void; type: [module: string, name: string] }> = {
  'v1/Namespace': { validate: model(Namespace), type: ['kubernetes-models/v1/Namespace', 'INamespace'] },
  'v1/ServiceAccount': {
    validate: model(ServiceAccount),
    type: ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  },
  'v1/ConfigMap': { validate: model(ConfigMap), type: ['kubernetes-models/v1/ConfigMap', 'IConfigMap'] },
  'v1/Service': { validate: model(Service), type: ['kubernetes-models/v1/Service', 'IService'] },
  'apps/v1/Deployment': {
    validate: model(Deployment),
    type: ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  },
  'policy/v1/PodDisruptionBudget': {
    validate: model(PodDisruptionBudget),
    type: ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
  },
  'keda.sh/v1alpha1/ScaledObject': {
    validate: model(ScaledObject),
    type: ['@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'IScaledObject'],
  },
  'keda.sh/v1alpha1/TriggerAuthentication': {
    validate: model(TriggerAuthentication),
    type: ['@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication', 'ITriggerAuthentication'],
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    validate: model(ServiceMonitor),
    type: [
      '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
      'IServiceMonitor',
    ],
  },
};

/** `new Model(object).validate()`: throws naming the first path that breaks the schema. */
function model<T>(Model: new (data: T) => { validate(): void }): (o: K8sObject) => void {
  // The object's shape is what is being checked: it goes in as the model's input type unverified.
  return (o) => new Model(o as unknown as T).validate();
}

function validateObject(o: K8sObject): void {
  const entry = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!entry) throw new Error(`no schema for ${o.apiVersion} ${o.kind} (${o.metadata.name})`);
  entry.validate(o);
}

/** Parsed declaration files, shared by every compile (the models' types are most of the work). */
const declarations = new Map<string, ts.SourceFile>();

/**
 * Compiles `const o: IKind = <object>;` for each object in memory and returns the compiler's complaints,
 * each prefixed with the object's label. An unknown key anywhere in an object literal is an error there.
 */
function typeProblems(objects: { label: string; object: K8sObject }[]): string[] {
  const file = join(ROOT, 'test', '__k8s_manifest_types__.ts');
  const imports = new Map<string, string>();
  const lines = objects.map(({ object }, i) => {
    const entry = MODELS[`${object.apiVersion}/${object.kind}`];
    if (!entry) throw new Error(`no type for ${object.apiVersion} ${object.kind}`);
    const [module, name] = entry.type;
    imports.set(name, `import type { ${name} } from '${module}';`);
    return `export const o${i}: ${name} = ${JSON.stringify(object)};`;
  });
  const header = [...imports.values()];
  const source = [...header, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) => {
    if (name === file) return ts.createSourceFile(name, source, language);
    const cached = declarations.get(name);
    if (cached) return cached;
    const parsed = getSourceFile(name, language, ...rest);
    if (parsed) declarations.set(name, parsed);
    return parsed;
  };
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const sourceFile = program.getSourceFile(file);
  const diagnostics = [
    ...program.getSyntacticDiagnostics(sourceFile),
    ...program.getSemanticDiagnostics(sourceFile),
  ];
  return diagnostics.map((d) => {
    const line =
      sourceFile && d.start !== undefined ? sourceFile.getLineAndCharacterOfPosition(d.start).line : -1;
    const label = objects[line - header.length]?.label ?? 'imports';
    return `${label}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

// ---- reading a render ----------------------------------------------------------------------------

function only(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

/** A rendered object as its model's type; the `renders … valid against its schema` test checks that shape. */
function typed<T>(o: K8sObject): T {
  return o as unknown as T;
}

const deploymentOf = (objects: K8sObject[]) => typed<IDeployment>(only(objects, 'Deployment'));
const containerOf = (objects: K8sObject[]): IContainer => {
  const containers = deploymentOf(objects).spec?.template.spec?.containers ?? [];
  expect(containers).toHaveLength(1);
  return containers[0];
};

/** The environment the container gets: literal values, the pod's name, dummy secrets. */
function podEnv(container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = POD_NAME;
    else if (e.valueFrom?.secretKeyRef)
      env[e.name] = `dummy-secret-${e.valueFrom.secretKeyRef.name}-${e.valueFrom.secretKeyRef.key}`;
    else throw new Error(`env ${e.name}: a source this test does not model`);
  }
  return env;
}

/** Writes the ConfigMap's file and loads it as the pod would: that file, then the pod's environment. */
function loadPodConfig(objects: K8sObject[], name: string): { config: RunConfig; text: string } {
  const deployment = deploymentOf(objects);
  const volume = deployment.spec?.template.spec?.volumes?.find((v) => v.name === 'config');
  const configMap = objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === volume?.configMap?.name,
  );
  if (!configMap)
    throw new Error(`the config volume names no ConfigMap of the render (${volume?.configMap?.name})`);
  const text = (configMap.data as Record<string, string> | undefined)?.['shelfwatch.yaml'];
  if (text === undefined) throw new Error(`ConfigMap ${configMap.metadata.name} has no shelfwatch.yaml`);
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, text);
  return { config: loadRunConfig({ file, env: podEnv(containerOf(objects)) }), text };
}

/** The configuration's Kinesis source; every render reads Kinesis. */
function kinesisSource(config: RunConfig): Extract<RunConfig['source'], { type: 'kinesis' }> {
  if (config.source.type !== 'kinesis') throw new Error(`source.type is ${config.source.type}, not kinesis`);
  return config.source;
}

/** Every leaf path of a parsed YAML document. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [path];
}

/**
 * Secrets written into the manifests: any Secret object with data, any secret-named env var with a
 * literal value, any secret key in the ConfigMaps' YAML. Empty when secrets only come by reference.
 */
function secretLiterals(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const where = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'Secret') problems.push(`${where}: a Secret in the manifests`);
    if (o.kind === 'ConfigMap') {
      for (const [key, text] of Object.entries((o.data as Record<string, string> | undefined) ?? {})) {
        for (const doc of parseAllDocuments(text)) {
          for (const path of leaves(doc.toJS())) {
            if (isSecretPath(path)) problems.push(`${where}: ${key} sets ${path.join('.')}`);
          }
        }
      }
    }
    if (o.kind === 'Deployment') {
      const spec = typed<IDeployment>(o).spec?.template.spec;
      for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
        for (const e of c.env ?? []) {
          if (isSecretPath([e.name]) && e.value !== undefined) {
            problems.push(`${where}: container ${c.name} has ${e.name} as a literal value`);
          }
        }
      }
    }
  }
  return problems;
}

// ---- what each render must be --------------------------------------------------------------------

const RENDERS = {
  base: {
    dir: 'base',
    image: /^shelfwatch:latest$/,
    store: 'dynamodb',
    maxReplicaCount: 4,
    roleArn: /^arn:aws:iam::000000000000:role\/REPLACE-ME-/,
    passwordFromSecret: false,
  },
  aws: {
    dir: 'overlays/aws',
    image: /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/shelfwatch:(?!latest$)[\w.-]+$/,
    store: 'dynamodb',
    maxReplicaCount: 8,
    roleArn: /^arn:aws:iam::(?!000000000000)\d{12}:role\/[\w+=,.@-]+$/,
    passwordFromSecret: false,
  },
  'aws-mysql': {
    dir: 'overlays/aws-mysql',
    image: /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/shelfwatch:(?!latest$)[\w.-]+$/,
    store: 'mysql',
    maxReplicaCount: 8,
    roleArn: /^arn:aws:iam::(?!000000000000)\d{12}:role\/[\w+=,.@-]+$/,
    passwordFromSecret: true,
  },
} as const;
type RenderName = keyof typeof RENDERS;
const NAMES = Object.keys(RENDERS) as RenderName[];

const rendered = new Map<RenderName, K8sObject[]>();
beforeAll(() => {
  requireKustomize5();
  for (const name of NAMES) rendered.set(name, render(RENDERS[name].dir));
});
const objectsOf = (name: RenderName): K8sObject[] => {
  const objects = rendered.get(name);
  if (!objects) throw new Error(`${name} was not rendered`);
  return objects;
};

describe.each(NAMES)('infra/k8s %s', (name) => {
  const want = RENDERS[name];

  it('renders one of each object, all in the namespace shelfwatch, each valid against its schema', () => {
    const objects = objectsOf(name);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'Namespace',
        'PodDisruptionBudget',
        'ScaledObject',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
        'TriggerAuthentication',
      ].sort(),
    );
    for (const o of objects) {
      expect(() => validateObject(o), `${o.kind}/${o.metadata.name}`).not.toThrow();
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind} namespace`).toBe('shelfwatch');
    }
    // The pod below meets the restricted Pod Security Standard; the namespace enforces it.
    const ns = only(objects, 'Namespace');
    expect(ns.metadata.name).toBe('shelfwatch');
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('runs the image as `shelfwatch run --config /etc/shelfwatch/shelfwatch.yaml`, the file from the generated ConfigMap', () => {
    const objects = objectsOf(name);
    const container = containerOf(objects);
    expect(container.image).toMatch(want.image);
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT: tini -- shelfwatch
    expect(container.args).toEqual(['run', '--config', '/etc/shelfwatch/shelfwatch.yaml']);
    const mount = container.volumeMounts?.find((m) => m.mountPath === '/etc/shelfwatch');
    expect(mount?.readOnly).toBe(true);
    const volume = deploymentOf(objects).spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
    // kustomize's content hash in the name: a changed file rolls the pods.
    expect(volume?.configMap?.name).toMatch(/^shelfwatch-config-[a-z0-9]{10}$/);
  });

  it('probes /healthz (startup, liveness) and /readyz (readiness) on port 9464, named metrics', () => {
    const container = containerOf(objectsOf(name));
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' }]);
    const { startupProbe, livenessProbe, readinessProbe } = container;
    expect(startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    // Start-up (state loaded from the store before the server listens) gets minutes, not liveness's 30 s.
    const startupSeconds = (startupProbe?.periodSeconds ?? 10) * (startupProbe?.failureThreshold ?? 3);
    expect(startupSeconds).toBeGreaterThanOrEqual(300);
  });

  it('runs as uid 10001, never root, read-only, without privileges, writing only to an emptyDir at /tmp', () => {
    const objects = objectsOf(name);
    const pod = deploymentOf(objects).spec?.template.spec;
    const container = containerOf(objects);
    expect(pod?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: UID,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: UID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext?.capabilities?.add).toBeUndefined();
    expect(container.securityContext?.privileged).not.toBe(true);
    const writable = (container.volumeMounts ?? []).filter((m) => m.readOnly !== true);
    expect(writable.map((m) => m.mountPath)).toEqual(['/tmp']);
    const tmpVolume = pod?.volumes?.find((v) => v.name === writable[0].name);
    expect(tmpVolume?.emptyDir).toBeDefined();
    // No Kubernetes token (the job never calls the API) and no service-link variables (see below).
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.enableServiceLinks).toBe(false);
  });

  it('requests at least the observed RSS peak and limits memory and CPU above the requests', () => {
    const { requests, limits } = containerOf(objectsOf(name)).resources ?? {};
    const mib = (q: string | number | undefined): number => {
      const m = /^(\d+)(Mi|Gi)$/.exec(String(q));
      if (!m) throw new Error(`memory quantity ${q}: not in Mi or Gi`);
      return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
    };
    const cores = (q: string | number | undefined): number => {
      const m = /^(\d+)(m?)$/.exec(String(q));
      if (!m) throw new Error(`cpu quantity ${q}: not in cores or millicores`);
      return Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
    };
    expect(mib(requests?.memory)).toBeGreaterThanOrEqual(OBSERVED_PEAK_RSS_MIB);
    expect(mib(limits?.memory)).toBeGreaterThan(mib(requests?.memory));
    expect(cores(requests?.cpu)).toBeGreaterThan(0);
    expect(cores(limits?.cpu)).toBeGreaterThanOrEqual(cores(requests?.cpu));
  });

  it('rolls out surge-first (maxUnavailable 0) and leaves the replica count to KEDA', () => {
    const spec = deploymentOf(objectsOf(name)).spec;
    expect(spec?.replicas).toBeUndefined();
    expect(spec?.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
  });

  it('holds a configuration the job loads with the pod environment: 0.0.0.0:9464, shutdown inside the grace period', () => {
    const objects = objectsOf(name);
    const { config } = loadPodConfig(objects, name);
    expect(kinesisSource(config).workerId).toBe(POD_NAME);
    expect(config.metrics).toMatchObject({ host: '0.0.0.0', port: METRICS_PORT });
    expect(config.store.type).toBe(want.store);
    expect(config.alerts.sinks.map((s) => s.type)).toContain('sns');
    // The kubelet SIGKILLs at the end of the grace period: the job's own timeout, plus the lease
    // release and closing the store and sinks, must fit in it.
    const grace = deploymentOf(objects).spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
    expect(grace * 1000).toBeGreaterThanOrEqual(config.shutdown.timeoutMs + 10_000);
    // The store password (MySQL) reaches the configuration from the Secret, not from the file.
    if (want.passwordFromSecret) {
      expect(config.store.type === 'mysql' && config.store.password).toBe(
        'dummy-secret-shelfwatch-mysql-password',
      );
    }
  });

  it('scales with KEDA on the Kinesis shard count of the configured stream: 1 to maxReplicaCount replicas', () => {
    const objects = objectsOf(name);
    const { config } = loadPodConfig(objects, name);
    const so = typed<IScaledObject>(only(objects, 'ScaledObject')).spec;
    expect(so.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deploymentOf(objects).metadata?.name,
    });
    expect(so.minReplicaCount).toBe(1);
    expect(so.maxReplicaCount).toBe(want.maxReplicaCount);
    expect(so.triggers).toHaveLength(1);
    const [trigger] = so.triggers;
    expect(trigger.type).toBe('aws-kinesis-stream');
    const source = kinesisSource(config);
    expect(trigger.metadata).toEqual({
      streamName: source.stream,
      awsRegion: source.region,
      shardCount: '1',
    });
    // Credentials by pod identity (the KEDA operator's IAM role), through a TriggerAuthentication.
    const auth = only(objects, 'TriggerAuthentication');
    expect(trigger.authenticationRef).toEqual({ name: auth.metadata.name });
    expect(auth.spec).toEqual({ podIdentity: { provider: 'aws' } });
  });

  it('gives the pods their IAM role through the ServiceAccount (IRSA)', () => {
    const objects = objectsOf(name);
    const sa = only(objects, 'ServiceAccount') as K8sObject & {
      metadata: { annotations?: Record<string, string> };
    };
    expect(deploymentOf(objects).spec?.template.spec?.serviceAccountName).toBe(sa.metadata.name);
    expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).toMatch(want.roleArn);
  });

  it('exposes the metrics port to Prometheus (Service, ServiceMonitor) and budgets disruptions', () => {
    const objects = objectsOf(name);
    const podLabels = deploymentOf(objects).spec?.template.metadata?.labels ?? {};
    const service = typed<IService>(only(objects, 'Service'));
    expect(podLabels).toMatchObject(service.spec?.selector ?? { missing: 'selector' });
    expect(service.spec?.ports).toEqual([
      { name: 'metrics', port: METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    expect(service.spec?.publishNotReadyAddresses).toBe(true);
    const monitor = typed<IServiceMonitor>(only(objects, 'ServiceMonitor')).spec;
    expect(service.metadata?.labels).toMatchObject(
      monitor.selector.matchLabels ?? { missing: 'matchLabels' },
    );
    expect(monitor.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    const pdb = typed<IPodDisruptionBudget>(only(objects, 'PodDisruptionBudget')).spec;
    expect(podLabels).toMatchObject(pdb?.selector?.matchLabels ?? { missing: 'matchLabels' });
    expect(pdb?.maxUnavailable).toBe(1);
  });

  it('holds no secret: no Secret object, no secret literal; secret variables come from secretKeyRef', () => {
    const objects = objectsOf(name);
    expect(secretLiterals(objects)).toEqual([]);
    const password = containerOf(objects).env?.find((e) => e.name === 'SHELFWATCH_STORE__PASSWORD');
    if (want.passwordFromSecret) {
      expect(password?.valueFrom?.secretKeyRef).toEqual({ name: 'shelfwatch-mysql', key: 'password' });
    } else {
      expect(password).toBeUndefined();
    }
  });
});

describe('infra/k8s, every render', () => {
  it('uses only fields the Kubernetes, KEDA and Prometheus Operator types know', () => {
    const all = NAMES.flatMap((name) =>
      objectsOf(name).map((object) => ({ label: `${name} ${object.kind}/${object.metadata.name}`, object })),
    );
    expect(typeProblems(all)).toEqual([]);
  });
});

describe('the checks fail on broken manifests', () => {
  it('a ScaledObject without scaleTargetRef fails its schema', () => {
    const so = structuredClone(only(objectsOf('aws'), 'ScaledObject'));
    expect(() => validateObject(so)).not.toThrow();
    delete (so.spec as Record<string, unknown>).scaleTargetRef;
    expect(() => validateObject(so)).toThrow(/scaleTargetRef/);
  });

  it('a kind without a schema fails', () => {
    const job = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x' } };
    expect(() => validateObject(job)).toThrow(/no schema for batch\/v1 CronJob/);
  });

  it('a misspelt field passes the schema but not the types', () => {
    const deployment = typed<IDeployment>(structuredClone(only(objectsOf('aws'), 'Deployment')));
    const container = deployment.spec?.template.spec?.containers[0] as unknown as Record<string, unknown>;
    container.livenessprobe = container.livenessProbe;
    delete container.livenessProbe;
    const broken = deployment as unknown as K8sObject;
    expect(() => validateObject(broken)).not.toThrow();
    const problems = typeProblems([{ label: 'broken', object: broken }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^broken: .*'"?livenessprobe"?' does not exist/);
  });

  it('a password as a literal value, or a Secret with data, is found', () => {
    const objects = structuredClone(objectsOf('aws-mysql'));
    const deployment = typed<IDeployment>(only(objects, 'Deployment'));
    const env = deployment.spec?.template.spec?.containers[0].env ?? [];
    const password = env.find((e) => e.name === 'SHELFWATCH_STORE__PASSWORD');
    if (!password) throw new Error('aws-mysql sets no SHELFWATCH_STORE__PASSWORD');
    password.value = 'hunter2';
    delete password.valueFrom;
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      stringData: { password: 'x' },
    });
    expect(secretLiterals(objects)).toEqual([
      'Deployment/shelfwatch: container shelfwatch has SHELFWATCH_STORE__PASSWORD as a literal value',
      'Secret/db: a Secret in the manifests',
    ]);
  });

  it('service-link variables would stop the job: why enableServiceLinks is false', () => {
    // What Kubernetes puts in a pod for a Service named shelfwatch-metrics when service links are on.
    const serviceLinks = {
      SHELFWATCH_METRICS_SERVICE_HOST: '10.100.0.7',
      SHELFWATCH_METRICS_SERVICE_PORT: '9464',
      SHELFWATCH_METRICS_PORT: 'tcp://10.100.0.7:9464',
    };
    expect(() => loadRunConfig({ env: serviceLinks })).toThrow(ConfigError);
  });

  it('without kubectl on PATH the render fails saying how to install it', () => {
    const empty = mkdtempSync(join(tmp, 'no-kubectl-'));
    expect(() => requireKustomize5({ PATH: empty })).toThrow(
      /kubectl is not installed.*Install kubectl 1\.27/,
    );
  });
});

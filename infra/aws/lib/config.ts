/**
 * The deployment's choices, read from CDK context (`cdk.json` or `-c key=value`) and checked before any
 * construct is built, so that a misspelt value fails the synth with its key instead of producing a
 * template that fails half-way through a deployment.
 */
import { readFileSync } from 'node:fs';
import type { Node } from 'constructs';

/**
 * Where the job runs: ECS Fargate workers (`shelfwatch run`) or a Lambda event-source mapping; the
 * context key is `target`, as the CI pipelines pass it (`cdk deploy -c target=lambda`).
 *
 * @example
 * ```ts
 * const target: Target = 'lambda';
 * ```
 */
export type Target = 'ecs' | 'lambda';

/**
 * Everything the stacks need to know that is not a deploy-time parameter.
 *
 * @example
 * ```ts
 * const config: ShelfwatchConfig = { ...DEFAULT_CONFIG, target: 'lambda', shardCount: 4 };
 * ```
 */
export interface ShelfwatchConfig {
  /** Prefix of every stack name; one prefix per environment (`Shelfwatch`, `ShelfwatchStaging`). */
  readonly prefix: string;
  /** ECS workers or the Lambda consumer. Never both: two consumers of one stream fight over its shards. */
  readonly target: Target;
  /** NAT gateways of the VPC; 0 makes the private subnets isolated (AWS endpoints only, no Slack/SMTP). */
  readonly natGateways: number;
  /** Shards of a provisioned stream, or `'on-demand'`. */
  readonly shardCount: number | 'on-demand';
  /** Hours the stream keeps a record (24–8760). */
  readonly retentionHours: number;
  /** Most ECS tasks; default the shard count (a task without a shard lease idles). */
  readonly maxTasks: number | undefined;
  /** Whether the data stack has an RDS MySQL instance. */
  readonly mysql: boolean;
  /** The ECS workers' state store; `mysql` needs `mysql: true`. */
  readonly workerStore: 'dynamodb' | 'mysql';
  /** ECR repository (in this account and region) holding the job's image. */
  readonly imageRepository: string;
  /** Image tag to run; an immutable tag, default the package version. */
  readonly imageTag: string;
  /** Secrets Manager secret name holding a Slack incoming-webhook URL; adds a Slack sink when set. */
  readonly slackWebhookSecretName: string | undefined;
  /** Reserved concurrency of the Lambda consumer; default none (the shard count bounds it anyway). */
  readonly lambdaReservedConcurrency: number | undefined;
  /** Days CloudWatch Logs keeps the job's logs. */
  readonly logRetentionDays: number;
}

/** The root package's version: the default image tag, so a release's image and its infrastructure agree. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * The defaults: ECS workers on a 2-shard stream, DynamoDB state, one NAT gateway, no RDS.
 *
 * @example
 * ```ts
 * new NetworkStack(app, 'Net', { natGateways: DEFAULT_CONFIG.natGateways });
 * ```
 */
export const DEFAULT_CONFIG: ShelfwatchConfig = {
  prefix: 'Shelfwatch',
  target: 'ecs',
  natGateways: 1,
  shardCount: 2,
  retentionHours: 24,
  maxTasks: undefined,
  mysql: false,
  workerStore: 'dynamodb',
  imageRepository: 'shelfwatch',
  imageTag: packageVersion(),
  slackWebhookSecretName: undefined,
  lambdaReservedConcurrency: undefined,
  logRetentionDays: 30,
};

/** The retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Context values from `-c key=value` are strings; from cdk.json they keep their JSON type. */
function integer(key: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`context ${key}: ${JSON.stringify(value)} must be an integer ${min}–${max}`);
  }
  return n;
}

function boolean(key: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${key}: ${JSON.stringify(value)} must be true or false`);
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`context ${key}: ${JSON.stringify(value)} must be one of ${allowed.join(', ')}`);
}

function name(key: string, value: unknown, pattern: RegExp): string {
  if (typeof value === 'string' && pattern.test(value)) return value;
  throw new Error(`context ${key}: ${JSON.stringify(value)} must match ${pattern}`);
}

/**
 * The configuration from a construct tree's context, each key checked; unset keys take
 * {@link DEFAULT_CONFIG}'s value.
 *
 * @throws {Error} naming the context key whose value is invalid, or a combination that cannot work.
 * @example
 * ```ts
 * const app = new App({ context: { target: 'lambda', shardCount: '4' } });
 * const config = configFromContext(app.node); // { target: 'lambda', shardCount: 4, ... }
 * ```
 */
export function configFromContext(node: Node): ShelfwatchConfig {
  const raw = (key: keyof ShelfwatchConfig): unknown => node.tryGetContext(key);
  const given = (key: keyof ShelfwatchConfig): boolean => raw(key) !== undefined && raw(key) !== '';
  const pick = <K extends keyof ShelfwatchConfig>(
    key: K,
    parse: (value: unknown) => ShelfwatchConfig[K],
  ): ShelfwatchConfig[K] => (given(key) ? parse(raw(key)) : DEFAULT_CONFIG[key]);

  const config: ShelfwatchConfig = {
    prefix: pick('prefix', (v) => name('prefix', v, /^[A-Za-z][A-Za-z0-9]{0,63}$/)),
    target: pick('target', (v) => oneOf('target', v, ['ecs', 'lambda'] as const)),
    natGateways: pick('natGateways', (v) => integer('natGateways', v, 0, 2)),
    shardCount: pick('shardCount', (v) => (v === 'on-demand' ? v : integer('shardCount', v, 1, 500))),
    retentionHours: pick('retentionHours', (v) => integer('retentionHours', v, 24, 8760)),
    maxTasks: pick('maxTasks', (v) => integer('maxTasks', v, 1, 500)),
    mysql: pick('mysql', (v) => boolean('mysql', v)),
    workerStore: pick('workerStore', (v) => oneOf('workerStore', v, ['dynamodb', 'mysql'] as const)),
    imageRepository: pick('imageRepository', (v) =>
      name('imageRepository', v, /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/),
    ),
    imageTag: pick('imageTag', (v) => {
      // A moving tag would make a rollback or a new task run other code than the deployment says.
      if (v === 'latest')
        throw new Error(
          'context imageTag: latest moves; give a released tag (the default: the package version)',
        );
      return name('imageTag', v, /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
    }),
    slackWebhookSecretName: pick('slackWebhookSecretName', (v) =>
      name('slackWebhookSecretName', v, /^[A-Za-z0-9/_+=.@-]{1,512}$/),
    ),
    lambdaReservedConcurrency: pick('lambdaReservedConcurrency', (v) =>
      integer('lambdaReservedConcurrency', v, 1, 1000),
    ),
    logRetentionDays: pick('logRetentionDays', (v) => {
      const days = integer('logRetentionDays', v, 1, 3653);
      if (!LOG_RETENTION_DAYS.includes(days)) {
        throw new Error(`context logRetentionDays: ${days} must be one of ${LOG_RETENTION_DAYS.join(', ')}`);
      }
      return days;
    }),
  };
  if (config.workerStore === 'mysql' && !config.mysql) {
    throw new Error('context workerStore: mysql needs the RDS instance: add -c mysql=true');
  }
  if (config.target === 'lambda' && config.workerStore === 'mysql') {
    throw new Error(
      'context workerStore: mysql is for the ECS workers; the Lambda consumer runs outside the VPC on DynamoDB',
    );
  }
  return config;
}

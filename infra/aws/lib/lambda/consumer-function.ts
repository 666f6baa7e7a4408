import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { JobEnvironment } from '../job/job-environment.js';

/** The real entry: `shelfwatch/lambda`'s ready `handler`, configured from `SHELFWATCH_*` variables. */
const LAMBDA_ENTRY = fileURLToPath(new URL('../../../../cli/lambda.ts', import.meta.url));
/** The repository's lock file: esbuild bundles what it pins. */
const LOCK_FILE = fileURLToPath(new URL('../../../../package-lock.json', import.meta.url));

/**
 * Props of {@link ConsumerFunction}.
 *
 * @example
 * ```ts
 * const props: ConsumerFunctionProps = { environment: {}, logRetention: RetentionDays.ONE_MONTH };
 * ```
 */
export interface ConsumerFunctionProps {
  /** `SHELFWATCH_*` variables: the store and the sinks (`source:` is ignored: Lambda is the source). */
  readonly environment: JobEnvironment;
  readonly logRetention: RetentionDays;
  /** Default none: with a parallelization factor of 1, the shard count already bounds concurrency. */
  readonly reservedConcurrency?: number;
  /** Default 5 minutes; the handler's retries stop short of it (`LambdaRetryBudget`). */
  readonly timeout?: Duration;
  /** Default 1024 MiB. */
  readonly memorySize?: number;
}

/**
 * The Lambda function running `cli/lambda.ts`'s `handler`: Node.js 22 on arm64, bundled locally by
 * esbuild (no Docker) to one ES module with source maps. The AWS SDK is bundled rather than taken from
 * the runtime, so the function runs the SDK versions the lock file pins and the tests ran;
 * `better-sqlite3` (native, and only loaded by a SQLite store, which the Lambda refuses) stays out.
 *
 * Its role starts empty (no `AWSLambdaBasicExecutionRole`): logging is granted on its own log group
 * only, everything else by the resources' grant methods.
 *
 * @example
 * ```ts
 * const fn = new ConsumerFunction(this, 'Consumer', { environment, logRetention: RetentionDays.ONE_MONTH });
 * fn.fn.addEventSource(new KinesisEventSource(stream, { startingPosition: StartingPosition.TRIM_HORIZON }));
 * ```
 */
export class ConsumerFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ConsumerFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'shelfwatch Lambda consumer',
    });
    this.logGroup.grantWrite(role);
    this.role = role;
    this.fn = new NodejsFunction(this, 'Function', {
      entry: LAMBDA_ENTRY,
      handler: 'handler',
      depsLockFilePath: LOCK_FILE,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(5),
      role,
      logGroup: this.logGroup,
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // CommonJS dependencies (pino, mysql2, the SDK's parts) call require(): give the ES module one.
        // Its import has a name of its own: the bundled connectors/sql/sqlite.ts imports createRequire too.
        banner:
          "import { createRequire as shelfwatchCreateRequire } from 'node:module'; const require = shelfwatchCreateRequire(import.meta.url);",
        externalModules: ['better-sqlite3'],
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        minify: true,
        keepNames: true,
      },
    });

    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: Node 22 is the version the project builds, tests and supports (engines); a newer runtime comes with the project moving to it, not silently',
    });
  }
}

import { Duration, Validations } from 'aws-cdk-lib';
import { type IVpc, SecurityGroup, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import {
  Cluster,
  type ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
  type Secret,
} from 'aws-cdk-lib/aws-ecs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { JobEnvironment } from '../job/job-environment.js';

/** The container's user: not root, and no name it would need from the image's /etc/passwd. */
const WORKER_USER = '10001:10001';
/** The job's metrics and health port (`metrics.port`), on 127.0.0.1 inside the task. */
const METRICS_PORT = 9464;

/**
 * Props of {@link WorkerService}.
 *
 * @example
 * ```ts
 * const props: WorkerServiceProps = { vpc, subnets, image, environment: {}, secrets: {}, logRetention: RetentionDays.ONE_MONTH };
 * ```
 */
export interface WorkerServiceProps {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  readonly image: ContainerImage;
  /** `SHELFWATCH_*` variables: resource names and settings, nothing secret. */
  readonly environment: JobEnvironment;
  /** `SHELFWATCH_*` variables read from Secrets Manager at task start. */
  readonly secrets: Record<string, Secret>;
  readonly logRetention: RetentionDays;
  /**
   * The arguments to the image's entrypoint (`tini -- shelfwatch`, as infra/k8s relies on too); default
   * `['run']`: the whole configuration comes from the environment.
   */
  readonly command?: string[];
  /** Default 512 (0.5 vCPU). */
  readonly cpu?: number;
  /** Default 1024 MiB. */
  readonly memoryLimitMiB?: number;
}

/**
 * `shelfwatch run` on ECS Fargate: a cluster with Container Insights, a task running the image as user
 * 10001 on a read-only root file system (a writable /tmp volume beside it), its log group, a
 * health check on `/healthz` and no inbound port. The service keeps each task until it stops itself;
 * its task count is for {@link scaleOnIteratorAge} to set.
 *
 * @example
 * ```ts
 * const worker = new WorkerService(this, 'Worker', { vpc, subnets, image, environment, secrets, logRetention });
 * data.stream.stream.grantRead(worker.taskDefinition.taskRole);
 * ```
 */
export class WorkerService extends Construct {
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
  readonly service: FargateService;
  readonly securityGroup: SecurityGroup;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: WorkerServiceProps) {
    super(scope, id);
    this.cluster = new Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
    });
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.X86_64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    });
    this.taskDefinition.addVolume({ name: 'tmp' });
    const container = this.taskDefinition.addContainer('shelfwatch', {
      image: props.image,
      command: props.command ?? ['run'],
      user: WORKER_USER,
      readonlyRootFilesystem: true,
      environment: props.environment,
      secrets: props.secrets,
      logging: LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'worker' }),
      // Node is in every image the Containerfile can build on; curl and wget are not in the slim one.
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${METRICS_PORT}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      // SIGTERM lets the batch in flight commit for `shutdown.timeoutMs` (30 s); SIGKILL comes after this.
      stopTimeout: Duration.seconds(45),
    });
    container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });

    const securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'shelfwatch workers: no inbound; outbound to AWS endpoints, the database and alert sinks',
      allowAllOutbound: true,
    });
    this.securityGroup = securityGroup;
    this.service = new FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      vpcSubnets: props.subnets,
      securityGroups: [securityGroup],
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      enableExecuteCommand: false,
    });

    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds resource names and settings (stream, tables, topic ARN, region); the secrets (database credentials, Slack webhook) come from Secrets Manager through `secrets`',
    });
  }
}

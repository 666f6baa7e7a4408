import { Stack, type StackProps } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  InterfaceVpcEndpointAwsService,
  IpAddresses,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * The VPC's default address range (/16: 2 AZs × (public /24 + private /22) use a small part).
 *
 * @example
 * ```ts
 * new NetworkStack(app, 'Net', { cidr: DEFAULT_VPC_CIDR, natGateways: 1, containerEndpoints: true, logRetention });
 * ```
 */
export const DEFAULT_VPC_CIDR = '10.64.0.0/16';

/**
 * Props of {@link NetworkStack}.
 *
 * @example
 * ```ts
 * const props: NetworkStackProps = { natGateways: 1, containerEndpoints: true, logRetention: RetentionDays.ONE_MONTH };
 * ```
 */
export interface NetworkStackProps extends StackProps {
  /** The VPC's address range; default {@link DEFAULT_VPC_CIDR}. */
  readonly cidr?: string;
  /**
   * NAT gateways (one is cheap, two survive an AZ outage). With 0 the private subnets are isolated: the
   * endpoints below still reach AWS, but Slack and SMTP sinks cannot.
   */
  readonly natGateways: number;
  /** Interface endpoints for ECR (image pulls) too; only the ECS workers need them. */
  readonly containerEndpoints: boolean;
  /** How long the VPC flow logs are kept. */
  readonly logRetention: RetentionDays;
}

/**
 * The VPC the job runs in: two AZs, private subnets for the workers and the database, and VPC endpoints
 * so that traffic to DynamoDB, S3, Kinesis, SNS, Secrets Manager, CloudWatch Logs (and ECR) stays off
 * the NAT gateway. Flow logs go to CloudWatch Logs.
 *
 * @example
 * ```ts
 * const network = new NetworkStack(app, 'ShelfwatchNetwork', {
 *   natGateways: 1,
 *   containerEndpoints: true,
 *   logRetention: RetentionDays.ONE_MONTH,
 * });
 * new DataStack(app, 'ShelfwatchData', { vpc: network.vpc, ... });
 * ```
 */
export class NetworkStack extends Stack {
  readonly vpc: IVpc;
  /** Where the job's tasks, functions and database go. */
  readonly privateSubnets: SubnetSelection;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const privateType = props.natGateways > 0 ? SubnetType.PRIVATE_WITH_EGRESS : SubnetType.PRIVATE_ISOLATED;
    const flowLogs = new LogGroup(this, 'FlowLogs', { retention: props.logRetention });
    const cidr = props.cidr ?? DEFAULT_VPC_CIDR;
    const vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr(cidr),
      maxAzs: 2,
      natGateways: props.natGateways,
      subnetConfiguration: [
        // A public subnet only holds the NAT gateways; nothing of ours gets a public address.
        ...(props.natGateways > 0 ? [{ name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 }] : []),
        { name: 'private', subnetType: privateType, cidrMask: 22 },
      ],
      gatewayEndpoints: {
        DynamoDb: { service: GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: GatewayVpcEndpointAwsService.S3 },
      },
      flowLogs: {
        all: {
          destination: FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: FlowLogTrafficType.ALL,
        },
      },
    });
    this.vpc = vpc;
    this.privateSubnets = { subnetType: privateType };

    const services: Record<string, InterfaceVpcEndpointAwsService> = {
      Kinesis: InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
      Sns: InterfaceVpcEndpointAwsService.SNS,
      SecretsManager: InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      Logs: InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      ...(props.containerEndpoints
        ? { Ecr: InterfaceVpcEndpointAwsService.ECR, EcrDocker: InterfaceVpcEndpointAwsService.ECR_DOCKER }
        : {}),
    };
    // One group for the interface endpoints: HTTPS from inside the VPC, nothing else. The range is
    // written out rather than read from the VPC, so that it is a literal cdk-nag (EC23) can check.
    const endpoints = new SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'shelfwatch VPC interface endpoints: HTTPS from the VPC only',
      allowAllOutbound: false,
    });
    endpoints.addIngressRule(Peer.ipv4(cidr), Port.tcp(443), 'HTTPS from the VPC');
    for (const [name, service] of Object.entries(services)) {
      vpc.addInterfaceEndpoint(name, {
        service,
        subnets: this.privateSubnets,
        privateDnsEnabled: true,
        securityGroups: [endpoints],
        open: false,
      });
    }
  }
}

import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The TTL attribute the DynamoDB store writes (epoch seconds): `TTL_ATTRIBUTE` in connectors/dynamodb. */
const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The job's three DynamoDB tables, on-demand, with point-in-time recovery and AWS-managed KMS
 * encryption (`aws/dynamodb`: encrypted with KMS, and no key policy to keep in step with the grants):
 *
 * - the **lease table** of the Kinesis workers (`leaseKey` string), named by the job's
 *   `source.applicationName` (one lease table per application, as the KCL does);
 * - the **state table** (`pk`, `sk` strings; docs/state-schema.md), TTL on `expiresAt`;
 * - the **audit table** (same keys), TTL on `expiresAt` too: the job writes no `expiresAt` on audit
 *   items today, so nothing expires, but a retention job can add one without a table change.
 *
 * The job runs with `createTables: false` against these, so the tables' settings are this file's.
 *
 * @example
 * ```ts
 * const tables = new StateTables(this, 'Tables');
 * tables.grantWorker(taskRole);
 * ```
 */
export class StateTables extends Construct {
  readonly leaseTable: Table;
  readonly stateTable: Table;
  readonly auditTable: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: true,
    } as const;
    this.leaseTable = new Table(this, 'Leases', {
      ...common,
      partitionKey: { name: 'leaseKey', type: AttributeType.STRING },
    });
    this.stateTable = new Table(this, 'State', {
      ...common,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      timeToLiveAttribute: TTL_ATTRIBUTE,
    });
    this.auditTable = new Table(this, 'Audit', {
      ...common,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      timeToLiveAttribute: TTL_ATTRIBUTE,
    });
  }

  /**
   * What the DynamoDB state store does (connectors/dynamodb): items in both tables, and at start-up
   * DescribeTable on both and DescribeTimeToLive on the state table (it checks TTL is on `expiresAt`).
   */
  grantStore(grantee: IGrantable): void {
    this.stateTable.grantReadWriteData(grantee);
    this.auditTable.grantReadWriteData(grantee);
    this.stateTable.grant(grantee, 'dynamodb:DescribeTimeToLive');
  }

  /**
   * What a Kinesis worker does to its lease table (connectors/kinesis/leases.ts): scans, conditional
   * puts and updates, and at start-up CreateTable. `LeaseTable.ensure()` always tries to create the
   * table and takes "already exists" as success, so without `dynamodb:CreateTable` (on this table's
   * ARN only) a worker fails with AccessDenied before reading a record. Were ensure() to DescribeTable
   * first, this grant could go.
   */
  grantLeases(grantee: IGrantable): void {
    this.leaseTable.grantReadWriteData(grantee);
    this.leaseTable.grant(grantee, 'dynamodb:CreateTable');
  }
}

import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * Key prefix of trained count models (`shelfwatch train` output, read as `detection.model`).
 *
 * @example
 * ```ts
 * artifacts.bucket.grantRead(role, `${MODELS_PREFIX}*`);
 * ```
 */
export const MODELS_PREFIX = 'models/';
/**
 * Key prefix of exported dead letters (NDJSON from the store or `deadLetters.path`).
 *
 * @example
 * ```ts
 * artifacts.bucket.grantPut(role, `${DEAD_LETTERS_PREFIX}*`);
 * ```
 */
export const DEAD_LETTERS_PREFIX = 'dead-letters/';

/**
 * Props of {@link ArtifactBucket}.
 *
 * @example
 * ```ts
 * const props: ArtifactBucketProps = { key };
 * ```
 */
export interface ArtifactBucketProps {
  readonly key: IKey;
}

/**
 * The S3 bucket for models and dead letters: KMS-encrypted (with an S3 Bucket Key, so KMS is called per
 * object rather than per request), public access blocked, TLS-only, versioned, server access logs to a
 * second bucket, and a lifecycle: old model versions go after 90 days, dead letters move to Infrequent
 * Access after 30 and go after 365, unfinished uploads after 7.
 *
 * @example
 * ```ts
 * const artifacts = new ArtifactBucket(this, 'Artifacts', { key });
 * artifacts.bucket.grantRead(role, `${MODELS_PREFIX}*`);
 * ```
 */
export class ArtifactBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps) {
    super(scope, id);
    // S3 server access logs cannot be written to a KMS-encrypted bucket: SSE-S3 here.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the access-log bucket of the artifact bucket; logging it to itself would log its own log writes without end',
    });
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { id: 'old-model-versions', prefix: MODELS_PREFIX, noncurrentVersionExpiration: Duration.days(90) },
        {
          id: 'dead-letters',
          prefix: DEAD_LETTERS_PREFIX,
          transitions: [{ storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }],
          expiration: Duration.days(365),
          noncurrentVersionExpiration: Duration.days(30),
        },
      ],
    });
  }
}

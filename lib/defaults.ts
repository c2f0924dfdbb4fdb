/**
 * Hardened defaults for the resources every part of the app creates: KMS keys, CloudWatch log groups and
 * private S3 buckets. One place, in the style of AWS Solutions Constructs' `core/lib/*-defaults.ts`, so a
 * control is added once and holds everywhere, and a test can check it across every template.
 */
import { ArnFormat, CfnDeletionPolicy, CfnResource, Duration, IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';

/**
 * Removal policy of every retained resource: CloudFormation's `RetainExceptOnCreate` deletion policy
 * (and `Retain` on replacement). An established resource is kept when its stack or its logical ID goes
 * away, but a resource created by a stack operation that fails and rolls back is deleted, so the retry
 * of a failed first deploy does not stop at "already exists" on a leftover with a fixed name.
 */
export const RETAINED = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;

/** Retention of every log group unless a caller asks for longer: one year (AWS Control Tower CT.CLOUDWATCH.PR.2). */
export const LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

/** Properties of {@link createKey}. */
export interface SecureKeyProps {
  /** What the key encrypts, shown in the KMS console. */
  readonly description: string;
}

/**
 * A customer managed KMS key: yearly automatic rotation, retained (see {@link RETAINED}), the account root
 * statement CDK adds by default, and a statement that denies `kms:CreateGrant` unless the grant is for an AWS
 * resource or the caller is an AWS service (AWS Control Tower CT.KMS.PR.3): the services that use the key (RDS,
 * ElastiCache, EFS, Secrets Manager, SNS, CloudWatch Logs) create their grants that way, and nobody else can
 * hand out a grant that outlives an IAM change.
 */
export function createKey(scope: Construct, id: string, props: SecureKeyProps): kms.Key {
  const key = new kms.Key(scope, id, {
    description: props.description,
    enableKeyRotation: true,
    removalPolicy: RETAINED,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsResources',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
  return key;
}

/**
 * The region's key for CloudWatch Logs (AWS Control Tower CT.CLOUDWATCH.PR.3): a {@link createKey} that also
 * allows the CloudWatch Logs service of this region to use it for this account's log groups, and nothing
 * else (the condition on `kms:EncryptionContext:aws:logs:arn` is the one the CloudWatch Logs user guide
 * gives in "Encrypt log data in CloudWatch Logs using AWS KMS").
 */
export function createLogsKey(scope: Construct, id: string): kms.Key {
  const key = createKey(scope, id, {
    description: 'Encrypts the CloudWatch Logs log groups of this environment in this region',
  });
  const stack = Stack.of(scope);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogsOfThisAccount',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  return key;
}

/** Properties of {@link createLogGroup}. */
export interface SecureLogGroupProps {
  /** The region's logs key ({@link createLogsKey}). */
  readonly encryptionKey: kms.IKey;
  /**
   * How long events are kept.
   * @default LOG_RETENTION (one year)
   */
  readonly retention?: logs.RetentionDays;
}

/** A log group encrypted with the region's logs key, kept for a year or more, retained (see {@link RETAINED}). */
export function createLogGroup(scope: Construct, id: string, props: SecureLogGroupProps): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    encryptionKey: props.encryptionKey,
    retention: props.retention ?? LOG_RETENTION,
    removalPolicy: RETAINED,
  });
}

/**
 * Encrypts, with the region's logs key, every log group in a stack that does not name a key itself: the log
 * groups aws-cdk-lib creates inside its own constructs (for example the AwsCustomResource provider's, under
 * the `@aws-cdk/aws-lambda:useCdkManagedLogGroup` flag). Added to each regional stack that has log groups.
 */
export class EncryptLogGroups implements IAspect {
  constructor(private readonly key: kms.IKey) {}

  visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup && node.kmsKeyId === undefined) {
      node.kmsKeyId = this.key.keyArn;
    }
  }
}

/** Properties of {@link createPrivateBucket}. */
export interface PrivateBucketProps {
  /**
   * Customer managed key for SSE-KMS.
   * @default - SSE-S3 (required where an AWS service that supports only SSE-S3 writes, such as ALB access logs)
   */
  readonly encryptionKey?: kms.IKey;
  /** Days an object is kept. */
  readonly expirationDays: number;
  /**
   * Days a replaced or deleted object version is kept.
   * @default 1
   */
  readonly noncurrentVersionExpirationDays?: number;
}

/**
 * A private bucket for logs and reports that AWS services write: all public access blocked, TLS-only,
 * versioned, bucket owner enforced (no ACLs), expiring objects, retained (see {@link RETAINED}).
 */
export function createPrivateBucket(scope: Construct, id: string, props: PrivateBucketProps): s3.Bucket {
  return new s3.Bucket(scope, id, {
    encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
    encryptionKey: props.encryptionKey,
    bucketKeyEnabled: props.encryptionKey ? true : undefined,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [
      {
        expiration: Duration.days(props.expirationDays),
        noncurrentVersionExpiration: Duration.days(props.noncurrentVersionExpirationDays ?? 1),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
    removalPolicy: RETAINED,
  });
}

/** Metadata key that exempts a resource from {@link RetainExceptOnCreate}; its value is the reason. */
export const KEEP_RETAIN_ON_CREATE = 'ha-web:keep-retain-on-create';

/**
 * Turns every `Retain` deletion policy in a stack into `RetainExceptOnCreate` (see {@link RETAINED}), the
 * retained resources inside aws-cdk-lib's own constructs included (for example the AwsCustomResource
 * provider's log group). A resource that must stay `Retain` even when its first create rolls back carries
 * {@link KEEP_RETAIN_ON_CREATE} metadata with the reason (none does today).
 */
export class RetainExceptOnCreate implements IAspect {
  visit(node: IConstruct): void {
    if (
      CfnResource.isCfnResource(node) &&
      node.cfnOptions.deletionPolicy === CfnDeletionPolicy.RETAIN &&
      node.getMetadata(KEEP_RETAIN_ON_CREATE) === undefined
    ) {
      node.cfnOptions.deletionPolicy = CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE;
    }
  }
}

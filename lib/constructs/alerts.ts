import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { createKey } from '../defaults';

/** Properties of {@link Alerts}. */
export interface AlertsProps {
  /** Address subscribed to the topic (the subscription must be confirmed from the mail). */
  readonly email: string;
}

/**
 * ARN of Amazon EC2 Auto Scaling's service-linked role in an account, the principal that publishes scaling
 * notifications. It exists only once the account has used Auto Scaling, so policies match it by the
 * `aws:PrincipalArn` condition and never name it as a principal (KMS and SNS reject a policy whose principal
 * does not exist, which would fail the first deploy in a new account).
 */
export function autoScalingServiceLinkedRoleArn(stack: Stack): string {
  return stack.formatArn({
    service: 'iam',
    region: '',
    resource: 'role',
    resourceName: 'aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling',
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/**
 * The region's alarm topic: SNS encrypted with a customer managed key, an e-mail subscription, and a topic
 * policy and key policy that let exactly the publishers the app wires to it publish:
 *
 * - CloudWatch alarms of this account and region (`cloudwatch.amazonaws.com`, scoped by `aws:SourceAccount`
 *   and `aws:SourceArn`), the alarm actions of the fleet and region alarms;
 * - Auto Scaling's service-linked role (matched by `aws:PrincipalArn`, see
 *   {@link autoScalingServiceLinkedRoleArn}), the fleet's scaling notifications; on the key only for SNS topics
 *   of this account and region (the `aws:sns:topicArn` encryption context SNS sends to KMS).
 *
 * A topic policy replaces SNS's default policy, so these Allow statements are what keeps notifications
 * flowing; publishing without TLS is denied. Without the key statements SNS could not encrypt a message from
 * either publisher ("Enable compatibility between event sources from AWS services and encrypted topics" in
 * the SNS developer guide).
 */
export class Alerts extends Construct {
  /** The topic alarms and scaling notifications publish to. */
  public readonly topic: sns.Topic;
  /** The key that encrypts the topic. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const alarmsOfThisRegion = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    const autoScalingRole = {
      ArnEquals: { 'aws:PrincipalArn': autoScalingServiceLinkedRoleArn(stack) },
      StringEquals: { 'aws:PrincipalAccount': stack.account },
    };
    // SNS passes the topic's ARN as encryption context when it calls KMS for a publisher (the key policy in
    // "Set up an SNS topic with server-side encryption", Amazon GameLift Servers guide, conditions on
    // kms:EncryptionContext:aws:sns:topicArn). A pattern, not this topic's ARN, because the topic refers to the key.
    const topicsOfThisRegion = {
      StringLike: {
        'kms:EncryptionContext:aws:sns:topicArn': stack.formatArn({
          service: 'sns',
          resource: '*',
          arnFormat: ArnFormat.NO_RESOURCE_NAME,
        }),
      },
    };

    this.key = createKey(this, 'Key', { description: 'Encrypts the alarm topic' });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: alarmsOfThisRegion,
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAutoScalingNotificationsToPublish',
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { ...autoScalingRole, ...topicsOfThisRegion },
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'HA web service alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: alarmsOfThisRegion,
      }),
    );
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAutoScalingNotificationsToPublish',
        principals: [new iam.AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: autoScalingRole,
      }),
    );
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}

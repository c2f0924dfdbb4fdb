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
    const publishers = publisherConditions(Stack.of(this));
    this.key = createKey(this, 'Key', { description: 'Encrypts the alarm topic' });
    const keyActions = ['kms:Decrypt', 'kms:GenerateDataKey*'];
    this.key.addToResourcePolicy(alarmsMayUse(keyActions, ['*'], publishers.alarmsOfThisRegion));
    this.key.addToResourcePolicy(
      autoScalingMayUse(keyActions, ['*'], { ...publishers.autoScalingRole, ...publishers.topicsOfThisRegion }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'HA web service alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(alarmsMayUse(['sns:Publish'], [this.topic.topicArn], publishers.alarmsOfThisRegion));
    this.topic.addToResourcePolicy(
      autoScalingMayUse(['sns:Publish'], [this.topic.topicArn], publishers.autoScalingRole),
    );
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}

type Conditions = Record<string, Record<string, unknown>>;

/**
 * Who may publish, as policy conditions: CloudWatch alarms of this account and region; the Auto Scaling
 * service-linked role of this account; and, for the key, topics of this region (SNS passes the topic's ARN as
 * encryption context when it calls KMS for a publisher: the key policy in "Set up an SNS topic with server-side
 * encryption", Amazon GameLift Servers guide, conditions on kms:EncryptionContext:aws:sns:topicArn; a pattern, not
 * this topic's ARN, because the topic refers to the key).
 */
function publisherConditions(stack: Stack): {
  alarmsOfThisRegion: Conditions;
  autoScalingRole: Conditions;
  topicsOfThisRegion: Conditions;
} {
  return {
    alarmsOfThisRegion: {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    },
    autoScalingRole: {
      ArnEquals: { 'aws:PrincipalArn': autoScalingServiceLinkedRoleArn(stack) },
      StringEquals: { 'aws:PrincipalAccount': stack.account },
    },
    topicsOfThisRegion: {
      StringLike: {
        'kms:EncryptionContext:aws:sns:topicArn': stack.formatArn({
          service: 'sns',
          resource: '*',
          arnFormat: ArnFormat.NO_RESOURCE_NAME,
        }),
      },
    },
  };
}

/** CloudWatch alarms may take `actions` on `resources` under `conditions`. */
function alarmsMayUse(actions: string[], resources: string[], conditions: Conditions): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AllowCloudWatchAlarmsToPublish',
    principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
    actions,
    resources,
    conditions,
  });
}

/** The Auto Scaling service-linked role (any principal, narrowed by `conditions`) may take `actions`. */
function autoScalingMayUse(actions: string[], resources: string[], conditions: Conditions): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AllowAutoScalingNotificationsToPublish',
    principals: [new iam.AnyPrincipal()],
    actions,
    resources,
    conditions,
  });
}

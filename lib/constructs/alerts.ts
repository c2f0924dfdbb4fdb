import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Properties of {@link Alerts}. */
export interface AlertsProps {
  /** Address subscribed to the topic (the subscription must be confirmed from the mail). */
  readonly email: string;
}

/**
 * The region's alarm topic: SNS encrypted with a customer-managed key that
 * CloudWatch alarms and Auto Scaling notifications may use, TLS-only
 * publishing, and an e-mail subscription.
 */
export class Alerts extends Construct {
  /** The topic alarms and scaling notifications publish to. */
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const key = new kms.Key(this, 'Key', {
      description: 'Encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Publishers whose messages the topic must encrypt: CloudWatch alarms and
    // the Auto Scaling service-linked role that sends scaling notifications.
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    key.grant(
      new iam.ArnPrincipal(
        `arn:${Stack.of(this).partition}:iam::${Stack.of(this).account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
      ),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'HA web service alarms',
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}

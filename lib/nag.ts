import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag AwsSolutions finding on a construct (and the
 * resources below it), with the reason it does not apply. Call it right where
 * the resource is created, so the reason sits next to the code it excuses.
 *
 * @param ruleId the rule, with a finding where the rule has several, e.g.
 *   `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]`
 */
export function acknowledgeNag(scope: IConstruct, ruleId: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${ruleId}`, reason });
}

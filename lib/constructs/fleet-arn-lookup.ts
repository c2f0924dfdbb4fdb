import { Stack } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag';

/** Properties of a {@link FleetArnLookup}. */
export interface FleetArnLookupProps {
  /** Region of the Auto Scaling group. */
  readonly region: string;
  /** Name of the Auto Scaling group (fixed, `names.ts`). */
  readonly autoScalingGroupName: string;
  /**
   * Any string; a new value reads the ARN again at the next deploy (the `PlanFleetLookup` stack parameter of
   * the primary operations stack: see the first-deploy runbook).
   */
  readonly refreshToken: string;
}

/** Construct ID of CDK's singleton AwsCustomResource provider function in a stack. */
const AWS_CUSTOM_RESOURCE_PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * The full ARN of an Auto Scaling group, found by its fixed name (DescribeAutoScalingGroups in the group's
 * region) when the stack is created and whenever `refreshToken` changes, never on other deploys.
 *
 * The Region switch plan's EC2 Auto Scaling block takes each region's group by full ARN, whose
 * `autoScalingGroup:<uuid>` part AWS assigns at creation (the API's pattern requires it), so it can be neither
 * fixed nor built from a name; CloudFormation returns only the group's name. Reading it by name, rather than
 * through a reference to the other region's stack, keeps the plan's stack free of cross-region references; the
 * groups' fixed names mean no deploy can replace a group, so the ARN changes only if an app stack is deleted
 * and created again, after which the runbook's refresh reads it anew (and `npm run region -- status` flags a
 * plan whose group ARN no longer matches the live group).
 */
export class FleetArnLookup extends Construct {
  /** The group's full ARN. */
  public readonly autoScalingGroupArn: string;

  constructor(scope: Construct, id: string, props: FleetArnLookupProps) {
    super(scope, id);
    const describe: cr.AwsSdkCall = {
      service: 'AutoScaling',
      action: 'describeAutoScalingGroups',
      region: props.region,
      parameters: { AutoScalingGroupNames: [props.autoScalingGroupName] },
      physicalResourceId: cr.PhysicalResourceId.of(
        `${props.region}/${props.autoScalingGroupName}/${props.refreshToken}`,
      ),
      outputPaths: ['AutoScalingGroups.0.AutoScalingGroupARN'],
    };
    const lookup = new cr.AwsCustomResource(this, 'Resource', {
      onCreate: describe,
      onUpdate: describe,
      installLatestAwsSdk: false,
      // DescribeAutoScalingGroups has no resource-level permissions.
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
    });
    this.autoScalingGroupArn = lookup.getResponseField('AutoScalingGroups.0.AutoScalingGroupARN');
    acknowledgeNag(
      lookup,
      'AwsSolutions-IAM5[Resource::*]',
      'DescribeAutoScalingGroups supports no resource-level permissions; the call is read-only.',
    );
    // The custom resource's function is a singleton of the stack; its role is CDK's.
    const provider = Stack.of(this).node.tryFindChild(AWS_CUSTOM_RESOURCE_PROVIDER_ID);
    if (provider) {
      acknowledgeNag(
        provider,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK's AwsCustomResource provider writes its own logs with the AWS-maintained basic execution policy; " +
          'its only other permission is DescribeAutoScalingGroups.',
      );
    }
  }
}

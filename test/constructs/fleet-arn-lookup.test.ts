import { CfnParameter } from 'aws-cdk-lib';
import { FleetArnLookup } from '../../lib/constructs/fleet-arn-lookup';
import { bareStack, templateOf } from '../harness';

const stack = bareStack();
const refresh = new CfnParameter(stack, 'Refresh', { type: 'String', default: 'initial' });
const lookup = new FleetArnLookup(stack, 'FleetWest', {
  region: 'us-west-2',
  autoScalingGroupName: 'haweb-test-web',
  refreshToken: refresh.valueAsString,
});
const template = templateOf(stack);
const [id, resource] = Object.entries(template.findResources('Custom::AWS'))[0]!;
/** The SDK call of `Create` or `Update`, as text (the refresh token is a `Ref` inside a `Fn::Join`). */
const call = (event: 'Create' | 'Update') => JSON.stringify(resource.Properties[event]['Fn::Join'][1]);

describe('FleetArnLookup', () => {
  test('is one AwsCustomResource', () => {
    template.resourceCountIs('Custom::AWS', 1);
  });

  test.each(['Create', 'Update'] as const)(
    "on %s reads the group by its fixed name with DescribeAutoScalingGroups in the group's region",
    (event) => {
      const text = call(event);
      expect(text).toContain('\\"service\\":\\"AutoScaling\\"');
      expect(text).toContain('\\"action\\":\\"describeAutoScalingGroups\\"');
      expect(text).toContain('\\"region\\":\\"us-west-2\\"');
      expect(text).toContain('\\"AutoScalingGroupNames\\":[\\"haweb-test-web\\"]');
    },
  );

  test('gives the full ARN the call returns, never a wildcard UUID', () => {
    expect(stack.resolve(lookup.autoScalingGroupArn)).toEqual({
      'Fn::GetAtt': [id, 'AutoScalingGroups.0.AutoScalingGroupARN'],
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('autoScalingGroup:*');
  });

  test('reads again only when the refresh token changes (it is part of the physical resource ID)', () => {
    for (const event of ['Create', 'Update'] as const) {
      expect(resource.Properties[event]['Fn::Join'][1]).toEqual([
        expect.stringMatching(/"physicalResourceId":\{"id":"us-west-2\/haweb-test-web\/$/),
        { Ref: 'Refresh' },
        expect.stringMatching(/^"\}/),
      ]);
    }
  });

  test('may only describe Auto Scaling groups', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties.PolicyDocument.Statement).toEqual([
      { Action: 'autoscaling:DescribeAutoScalingGroups', Effect: 'Allow', Resource: '*' },
    ]);
  });
});

import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Alerts } from '../../lib/constructs/alerts';
import { allows, Request, Statement } from '../compliance/policy';
import { bareStack, TEST_ACCOUNT, templateOf } from '../harness';
import { newApp, onlyResource } from '../helpers';

const ACCOUNT = TEST_ACCOUNT;
const REGION = 'eu-west-1';
const SLR = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;

const stack = bareStack({ region: REGION });
new Alerts(stack, 'Alerts', { email: 'ops@example.com' });
const template = templateOf(stack);
const topic = onlyResource(template, 'AWS::SNS::Topic');
const key = onlyResource(template, 'AWS::KMS::Key');
const topicPolicy: Statement[] = onlyResource(template, 'AWS::SNS::TopicPolicy').resource.Properties.PolicyDocument
  .Statement;
const keyPolicy: Statement[] = key.resource.Properties.KeyPolicy.Statement;

/** A CloudWatch alarm of this account and region publishing (what SNS and KMS see). */
const alarmPublish = (context: Record<string, string> = {}) => ({
  principal: { Service: 'cloudwatch.amazonaws.com' },
  context: {
    'aws:SecureTransport': 'true',
    'aws:SourceAccount': ACCOUNT,
    'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:haweb-demo-target5xx`,
    ...context,
  },
});
/** Auto Scaling's service-linked role publishing a scaling notification through SNS. */
const scalingPublish = (context: Record<string, string> = {}) => ({
  principal: { AWS: SLR },
  context: {
    'aws:SecureTransport': 'true',
    'aws:PrincipalArn': SLR,
    'aws:PrincipalAccount': ACCOUNT,
    'kms:EncryptionContext:aws:sns:topicArn': `arn:aws:sns:${REGION}:${ACCOUNT}:Test-AlertsTopic-1A2B3C4D5E6F`,
    ...context,
  },
});
const topicAllows = (r: Omit<Request, 'action' | 'resource'>) =>
  allows(topicPolicy, { ...r, action: 'sns:Publish', resource: { Ref: topic.id } });
const keyAllows = (r: Omit<Request, 'action'>, action: string) => allows(keyPolicy, { ...r, action });

describe('Alerts', () => {
  test('the topic is encrypted with its own customer managed key, which rotates and is kept except on a failed create', () => {
    expect(topic.resource.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key.id, 'Arn'] });
    expect(key.resource.Properties.EnableKeyRotation).toBe(true);
    expect(key.resource.DeletionPolicy).toBe('RetainExceptOnCreate');
    // By the construct itself, not only by the RetainExceptOnCreate aspect of the app's stacks.
    const plain = new Stack(newApp(), 'Plain', { env: { account: ACCOUNT, region: REGION } });
    new Alerts(plain, 'Alerts', { email: 'ops@example.com' });
    expect(onlyResource(Template.fromStack(plain), 'AWS::KMS::Key').resource.DeletionPolicy).toBe(
      'RetainExceptOnCreate',
    );
  });

  test('CloudWatch alarms of this account and region may publish to the topic and use its key', () => {
    expect(topicAllows(alarmPublish())).toBe(true);
    expect(keyAllows(alarmPublish(), 'kms:GenerateDataKey')).toBe(true);
    expect(keyAllows(alarmPublish(), 'kms:Decrypt')).toBe(true);
  });

  test('alarms of another account or region may not (aws:SourceAccount, aws:SourceArn)', () => {
    const otherAccount = alarmPublish({
      'aws:SourceAccount': '999999999999',
      'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:999999999999:alarm:x`,
    });
    const otherRegion = alarmPublish({ 'aws:SourceArn': `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:x` });
    for (const request of [otherAccount, otherRegion]) {
      expect(topicAllows(request)).toBe(false);
      expect(keyAllows(request, 'kms:GenerateDataKey')).toBe(false);
    }
  });

  test("Auto Scaling's service-linked role may publish scaling notifications and use the key through SNS", () => {
    expect(topicAllows(scalingPublish())).toBe(true);
    expect(keyAllows(scalingPublish(), 'kms:GenerateDataKey')).toBe(true);
    expect(keyAllows(scalingPublish(), 'kms:Decrypt')).toBe(true);
    // Not for anything but SNS topics of this account and region.
    for (const context of [
      { 'kms:EncryptionContext:aws:sns:topicArn': `arn:aws:sns:us-east-1:${ACCOUNT}:Other` },
      { 'kms:EncryptionContext:aws:sns:topicArn': `arn:aws:sns:${REGION}:999999999999:Other` },
      { 'kms:EncryptionContext:aws:sns:topicArn': '' },
    ]) {
      expect(keyAllows(scalingPublish(context), 'kms:Decrypt')).toBe(false);
    }
  });

  test('no policy names the service-linked role as a principal, which may not exist yet in a new account', () => {
    expect(JSON.stringify([topicPolicy, keyPolicy])).not.toMatch(/"AWS":\s*"arn:[^"]*:role\//);
    expect(JSON.stringify(keyPolicy.map((s) => s.Principal))).not.toContain('AWSServiceRoleForAutoScaling');
    // The role is matched by condition instead.
    expect(JSON.stringify(keyPolicy)).toContain(`"aws:PrincipalArn":"${SLR}"`);
  });

  test('publishing without TLS is denied to everyone', () => {
    expect(topicAllows(alarmPublish({ 'aws:SecureTransport': 'false' }))).toBe(false);
    expect(topicAllows(scalingPublish({ 'aws:SecureTransport': 'false' }))).toBe(false);
  });

  test('the key lets no one create a grant that is not for an AWS resource (CT.KMS.PR.3)', () => {
    expect(keyPolicy).toContainEqual({
      Sid: 'DenyGrantsExceptForAwsResources',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
  });

  test('has an e-mail subscription', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: { Ref: topic.id },
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});

describe('the policies of the first version (a Deny-only topic policy, the role named as principal)', () => {
  // The faulty inputs of issue 8, kept as data: the evaluator must find what they got wrong.
  const oldTopicPolicy: Statement[] = [
    {
      Effect: 'Deny',
      Principal: '*',
      Action: 'sns:Publish',
      Resource: { Ref: topic.id },
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ];

  test('let no CloudWatch alarm publish: a topic policy replaces the default one', () => {
    expect(allows(oldTopicPolicy, { ...alarmPublish(), action: 'sns:Publish', resource: { Ref: topic.id } })).toBe(
      false,
    );
  });
});

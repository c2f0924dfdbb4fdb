import { Match, Template } from 'aws-cdk-lib/assertions';
import { demo } from '../../lib/config/environments';
import { buildEnvironment, onlyResource, templatesOf } from '../helpers';

interface PolicyStatement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Principal?: { readonly Service?: string | string[]; readonly AWS?: unknown };
}

/** Every action the key policy allows a principal (`Service` or `AWS`), across statements. */
function actionsAllowedTo(template: Template, keyId: string, kind: 'Service' | 'AWS', principal: unknown): string[] {
  const key = template.findResources('AWS::KMS::Key')[keyId];
  const statements: PolicyStatement[] = key.Properties.KeyPolicy.Statement;
  const json = JSON.stringify(principal);
  return statements
    .filter(
      (s) =>
        s.Effect === 'Allow' &&
        ([] as unknown[]).concat(s.Principal?.[kind] ?? []).some((p) => JSON.stringify(p) === json),
    )
    .flatMap((s) => ([] as string[]).concat(s.Action));
}

const { env } = buildEnvironment();
const templates = templatesOf(env);

describe.each([
  { name: 'primary', region: demo.primary.region, template: templates.appPrimary },
  { name: 'secondary', region: demo.secondary.region, template: templates.appSecondary },
])('alerts ($name, $region)', ({ template }) => {
  const topic = onlyResource(template, 'AWS::SNS::Topic');

  test('the topic is encrypted with a KMS key of the stack (customer-managed)', () => {
    const keyId = topic.resource.Properties.KmsMasterKeyId['Fn::GetAtt']?.[0];
    expect(topic.resource.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(template.findResources('AWS::KMS::Key')[keyId]).toBeDefined();
  });

  test('the topic key rotates automatically', () => {
    const keyId = topic.resource.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    expect(template.findResources('AWS::KMS::Key')[keyId].Properties.EnableKeyRotation).toBe(true);
  });

  test('the topic key lets CloudWatch alarms encrypt messages (kms:GenerateDataKey*, kms:Decrypt)', () => {
    const keyId = topic.resource.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    expect(actionsAllowedTo(template, keyId, 'Service', 'cloudwatch.amazonaws.com')).toEqual(
      expect.arrayContaining(['kms:GenerateDataKey*', 'kms:Decrypt']),
    );
  });

  test('the topic key lets the Auto Scaling service-linked role encrypt scaling notifications', () => {
    const keyId = topic.resource.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const role = `arn:aws:iam::${demo.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
    expect(actionsAllowedTo(template, keyId, 'AWS', role)).toEqual(
      expect.arrayContaining(['kms:GenerateDataKey*', 'kms:Decrypt']),
    );
  });

  test('the topic policy denies publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic.id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Principal: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test(`the topic has an e-mail subscription to alarmEmail (${demo.alarmEmail})`, () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: { Ref: topic.id },
      Protocol: 'email',
      Endpoint: demo.alarmEmail,
    });
  });
});

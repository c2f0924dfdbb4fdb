import { App, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as fs from 'fs';
import * as path from 'path';
import { EnvironmentConfig } from '../lib/config';
import { demo, prod } from '../lib/config/environments';
import { HaEnvironment } from '../lib/ha-environment';
import { newApp } from './helpers';

interface Report {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: { ruleName: string }[];
    suppressedViolations: { ruleName: string; reason: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

/** Synthesizes an environment with the AwsSolutions pack, as bin/app.ts does, and returns the nag report. */
function nagReport(config: EnvironmentConfig, extra?: (app: App, env: HaEnvironment) => void) {
  const app = newApp();
  const env = new HaEnvironment(app, config);
  extra?.(app, env);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const report: Report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'));
  return report.pluginReports.find((p) => p.pluginName === 'AwsSolutions')!;
}

describe('cdk-nag AwsSolutions', () => {
  const report = nagReport(demo);

  test('the demo environment has no unsuppressed finding', () => {
    expect(report.violations).toEqual([]);
    expect(report.conclusion).toBe('success');
  });

  test('the prod environment has no unsuppressed finding', () => {
    expect(nagReport(prod).violations).toEqual([]);
  });

  test('suppressions are exactly the reviewed rules', () => {
    expect([...new Set(report.suppressedViolations.map((v) => v.ruleName))].sort()).toEqual([
      'AwsSolutions-AEC3',
      'AwsSolutions-AEC5',
      'AwsSolutions-EC23',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ec2:us-east-1:111111111111:instance/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ec2:us-east-1:111111111111:network-acl/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ec2:us-west-2:111111111111:instance/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:ec2:us-west-2:111111111111:network-acl/*]',
      'AwsSolutions-L1',
      'AwsSolutions-S1',
      'AwsSolutions-SMG4',
    ]);
  });

  test('every suppression gives a reason of substance', () => {
    for (const v of report.suppressedViolations) {
      expect(v.reason.length).toBeGreaterThan(60);
    }
  });

  test('every suppression sits on a resource, not on a stack or the app', () => {
    for (const v of report.suppressedViolations) {
      for (const c of v.violatingConstructs) {
        expect(c.constructPath.split('/').length).toBeGreaterThan(2);
      }
    }
  });

  test('a new non-compliant resource fails synthesis', () => {
    expect(() =>
      nagReport(demo, (_app, env) => {
        new s3.Bucket(env.primary.app, 'Unencrypted', { enforceSSL: false });
      }),
    ).toThrow();
  });
});
